import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Messages, STREAMS } from '@agency/contracts';
import { BusConnection } from '@agency/messaging';
import { LocalStack, seedBareRepo, seedVault, STACK_SERVICES, type StackService } from '@agency/stack';
import { expectEventually, freePort, readStream, startNatsServer, tempDir, type NatsServerHandle, type TempDir } from '@agency/testing';

const root = join(import.meta.dirname, '..', '..');
const FRS = Array.from({ length: 22 }, (_, i) => `FR-${100 + i}`);
const TERMINAL = ['done', 'failed', 'blocked', 'cancelled'];

interface SagaSummary {
  frId: string;
  sagaId: string;
  state: string;
  traceId: string;
  prUrl?: string;
  failure?: string;
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
}

function shuffled<T>(items: readonly T[]): T[] {
  return [...items]
    .map((v) => ({ v, k: Math.random() }))
    .sort((a, b) => a.k - b.k)
    .map((x) => x.v);
}

describe('chaos: 22 FRs while every service and nats-server are killed and restarted', () => {
  let dir: TempDir;
  let nats: NatsServerHandle;
  let stack: LocalStack;
  let vault: string;
  let forge: string;
  const kills: string[] = [];

  const sagas = async (): Promise<SagaSummary[]> => ((await (await fetch(`${stack.url('orchestrator')}/sagas`)).json()) as { sagas: SagaSummary[] }).sagas;

  beforeAll(async () => {
    dir = tempDir('agency-chaos-');
    vault = join(dir.path, 'vault');
    forge = join(dir.path, 'forge');
    seedVault(join(root, 'examples', 'vault'), vault);
    // Every FR in flight at once, merged automatically, so each ends in a terminal state by itself.
    const config = readFileSync(join(vault, '40_config', 'agency.yaml'), 'utf8')
      .replace('root: ../../forge', `root: ${forge}`)
      .replace(/global: 4\n {2}per_repo: 2/, 'global: 20\n  per_repo: 20')
      .replace('merge: human', 'merge: auto')
      .replace(/auto_merge_min_confidence: [\d.]+/, 'auto_merge_min_confidence: 0.8')
      .replace(/(name: small\n(?:.*\n)*?\s+)auto_merge: false/, '$1auto_merge: true');
    writeFileSync(join(vault, '40_config', 'agency.yaml'), config);
    for (const f of readdirSync(join(vault, '10_features', '03_planned')))
      if (f.endsWith('.md')) execFileSync('rm', [join(vault, '10_features', '03_planned', f)]);
    seedBareRepo(forge, 'example/greeter', join(root, 'examples', 'repos', 'greeter'));
    nats = await startNatsServer();
    const ports = Object.fromEntries(await Promise.all(STACK_SERVICES.map(async (s) => [s, await freePort()]))) as Record<StackService, number>;
    stack = new LocalStack({
      runDir: join(dir.path, 'run'),
      vaultPath: vault,
      rootDir: root,
      natsUrl: nats.url,
      ports,
      // Short clocks, so recovery after a kill takes seconds, not minutes.
      env: {
        LOG_LEVEL: 'info',
        BUS_ACK_WAIT_SECONDS: '5',
        BUS_MAX_DELIVER: '10',
        STEP_QUIET_SECONDS: '15',
        SWEEP_INTERVAL_MS: '1000',
        SCAN_INTERVAL_MS: '1000',
        DISPATCH_INTERVAL_MS: '500',
        HEARTBEAT_SECONDS: '2',
        BUS_CONCURRENCY: '8',
      },
    });
    await stack.start();
  });

  afterAll(async () => {
    await stack?.stop();
    await nats?.dispose();
    if (process.env.KEEP_E2E_DIR) console.log(`chaos state kept in ${dir.path}`);
    else dir?.remove();
  });

  it('loses no FR, repeats no side effect, and gives each successful FR exactly one PR', async () => {
    const started = Date.now();
    for (const id of FRS) {
      writeFileSync(
        join(vault, '10_features', '03_planned', `${id}-note.md`),
        `---\nid: ${id}\ntitle: Note ${id}\npriority: ${['low', 'medium', 'high'][Number(id.slice(3)) % 3]}\n---\n\n## Acceptance criteria\n\n- docs/${id}.md exists\n`,
      );
    }
    await expectEventually(async () => expect((await sagas()).length).toBeGreaterThan(3), { timeoutMs: 30_000 });

    // Each of the seven killed at least once, mid-flight; then nats-server itself; then a few more.
    for (const service of [...shuffled(STACK_SERVICES), ...shuffled(STACK_SERVICES).slice(0, 3)]) {
      await stack.restartService(service, 'SIGKILL');
      kills.push(service);
      if (kills.length === STACK_SERVICES.length) {
        await nats.stop('SIGKILL');
        kills.push('nats-server');
        await new Promise((r) => setTimeout(r, 1500));
        await nats.restart();
      }
      await new Promise((r) => setTimeout(r, 1200));
    }

    const final = await expectEventually(
      async () => {
        const all = await sagas();
        expect(all.map((s) => s.frId).sort()).toEqual([...FRS].sort());
        const open = all.filter((s) => !TERMINAL.includes(s.state));
        expect(open.map((s) => `${s.frId}:${s.state}`)).toEqual([]);
        return all;
      },
      { timeoutMs: 360_000, intervalMs: 1000, message: 'every FR in a terminal state' },
    );

    const byState = final.reduce<Record<string, number>>((acc, s) => ((acc[s.state] = (acc[s.state] ?? 0) + 1), acc), {});
    const bus = await BusConnection.connect({ servers: nats.url, name: 'chaos-check' });
    const events = await readStream(bus.js, STREAMS.events.name);
    const deadLetters = await readStream(bus.js, STREAMS.deadLetters.name);
    await bus.close();
    const finished = events.filter((m) => m.subject === Messages.JobFinished.subject).map((m) => JSON.parse(m.text).payload.jobId as string);

    console.log(
      [
        `chaos: ${FRS.length} FRs in ${Math.round((Date.now() - started) / 1000)} s`,
        `states: ${JSON.stringify(byState)}`,
        `kills: ${kills.join(', ')}`,
        `events: ${events.length}, dead letters: ${deadLetters.length}, jobs finished: ${finished.length}`,
        ...final.filter((s) => s.state !== 'done').map((s) => `  ${s.frId} ${s.state}: ${s.failure ?? ''}`),
      ].join('\n'),
    );

    // Exactly one run per FR: nobody was taken twice.
    expect(final.every((s) => s.sagaId === `${s.frId}-r1`)).toBe(true);

    // Each FR file sits in exactly one folder, the one its state says (the file follows the
    // saved state a moment later, or after the sweeper repairs a move a crash cut short).
    await expectEventually(
      () => {
        for (const s of final) {
          const folders = ['03_planned', '04_in_progress', '05_in_review', '06_done', '09_blocked'].filter(
            (f) => existsSync(join(vault, '10_features', f)) && readdirSync(join(vault, '10_features', f)).some((n) => n.startsWith(`${s.frId}-`)),
          );
          expect(folders, s.frId).toEqual([s.state === 'done' ? '06_done' : '09_blocked']);
        }
      },
      { timeoutMs: 15_000 },
    );

    // Successful FRs: one PR each, merged once, one commit, pushed once; main holds each note once.
    const bare = join(forge, 'example', 'greeter.git');
    const prDir = join(forge, 'example', 'greeter.prs');
    const prs = readdirSync(prDir)
      .filter((f) => /^\d+\.json$/.test(f))
      .map((f) => JSON.parse(readFileSync(join(prDir, f), 'utf8')) as { branch: string; state: string; pushes?: unknown[]; frId?: string });
    const done = final.filter((s) => s.state === 'done');
    for (const s of done) {
      const mine = prs.filter((p) => p.branch.startsWith(`agency/${s.frId}-`));
      expect(mine, `${s.frId} PRs`).toHaveLength(1);
      expect(mine[0]!.state).toBe('merged');
      expect(git(bare, 'rev-list', '--count', `main..${mine[0]!.branch}`)).toBe('0');
      // The coder committed once: a redelivered code command did not commit again.
      expect(
        git(bare, 'log', '--format=%s', mine[0]!.branch)
          .split('\n')
          .filter((l) => l.startsWith(`${s.frId}:`)),
      ).toHaveLength(1);
      expect(git(bare, 'show', `main:docs/${s.frId}.md`)).toContain(s.frId);
    }
    const merges = git(bare, 'log', '--merges', '--format=%s', 'main').split('\n').filter(Boolean);
    console.log(`chaos: PRs ${prs.length} (${prs.filter((p) => p.state === 'merged').length} merged), merge commits on main ${merges.length}`);
    expect(merges).toHaveLength(done.length);
    expect(new Set(merges).size).toBe(merges.length);

    // The registry finished each job once.
    expect(new Set(finished).size).toBe(finished.length);

    // One trace per FR, through every kill and the nats restart: each event of an FR carries the
    // trace its saga started with (from the saga's saved root context or the command's headers).
    const tracesOf = new Map<string, Set<string>>();
    for (const m of events) {
      const frId = m.headers['Agency-Fr-Id'];
      const traceId = m.headers.traceparent?.split('-')[1];
      if (!frId || !traceId) continue;
      tracesOf.set(frId, (tracesOf.get(frId) ?? new Set()).add(traceId));
    }
    for (const s of final) expect([...(tracesOf.get(s.frId) ?? [])], `${s.frId} traces`).toEqual([s.traceId]);
    const untraced = events.filter((m) => m.headers['Agency-Fr-Id'] && !m.headers.traceparent).map((m) => m.subject);
    expect(untraced, 'FR events without trace context').toEqual([]);

    expect(byState.done).toBe(FRS.length);
  });
});
