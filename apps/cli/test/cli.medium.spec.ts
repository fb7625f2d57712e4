import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { Messages, type SagaList, type SagaSummary } from '@agency/contracts';
import { BusConnection, BusPublisher, Clock, ensureStreams } from '@agency/messaging';
import { LocalStack, seedVault, startNats } from '@agency/stack';
import { FR_FOLDERS } from '@agency/vault';
import { expectEventually, freePort, startNatsServer, tempDir, type NatsServerHandle, type TempDir } from '@agency/testing';

const ROOT = resolve(import.meta.dirname, '../../..');
const CLI = join(ROOT, 'dist/apps/cli/src/main.js');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A run directory whose stack has stopped, its event store holding `count` step failures per run of `frId`. */
async function stoppedRun(runDir: string, frId: string, runs: ReadonlyArray<{ sagaId: string; count: number; reason: (i: number) => string }>) {
  const own = await startNats(join(runDir, 'nats'));
  const bus = await BusConnection.connect({ servers: own.url, name: 'offline-logs-test' });
  await ensureStreams(bus.jsm);
  const publisher = new BusPublisher(bus, new Clock());
  for (const run of runs)
    for (let i = 0; i < run.count; i++)
      await publisher.publish(Messages.AgentStepFailed, {
        frId,
        sagaId: run.sagaId,
        jobId: `job-${run.sagaId}`,
        step: 'code-r1',
        attempt: i + 1,
        payload: { code: 'LLM_TIMEOUT', reason: run.reason(i), retryable: true },
      });
  await bus.close();
  await own.stop();
}

/**
 * The `agency` command as a person runs it (its own process, from dist/) against a real
 * orchestrator (its own process too) on a nats-server of the test's own, with the example vault.
 * No router runs, so the example FR stays where intake puts it: discovered, with no gate open.
 */
describe('agency CLI against a real orchestrator', () => {
  let nats: NatsServerHandle;
  let dir: TempDir;
  let stack: LocalStack;
  let env: NodeJS.ProcessEnv;
  const children: ChildProcess[] = [];

  const start = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const child = spawn(process.execPath, ['--enable-source-maps', CLI, ...args], {
      cwd: ROOT,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const run: Run = { code: null, signal: null, stdout: '', stderr: '' };
    child.stdout!.on('data', (d: Buffer) => (run.stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (run.stderr += d.toString()));
    const done = new Promise<Run>((res) => child.once('close', (code, signal) => res(Object.assign(run, { code, signal }))));
    return { child, run, done };
  };
  const agency = (...args: string[]) => start(args).done;

  beforeAll(async () => {
    // The CLI's and the orchestrator's compiled code (tools/build.mjs only compiles what changed).
    const libs = readdirSync(join(ROOT, 'libs')).map((l) => `libs/${l}`);
    execFileSync(process.execPath, [join(ROOT, 'tools/build.mjs'), '--quiet', 'apps/cli', 'apps/orchestrator', ...libs], { cwd: ROOT, stdio: 'inherit' });
    nats = await startNatsServer();
    dir = tempDir('cli-');
    const vault = join(dir.path, 'vault');
    seedVault(join(ROOT, 'examples', 'vault'), vault);
    stack = new LocalStack({
      runDir: join(dir.path, 'run'),
      vaultPath: vault,
      rootDir: ROOT,
      natsUrl: nats.url,
      ports: { orchestrator: await freePort() },
      env: { LOG_LEVEL: 'info', SCAN_INTERVAL_MS: '300' },
    });
    // Only the orchestrator, on the test's nats-server (start() would bring up all seven).
    stack.natsUrl = nats.url;
    mkdirSync(join(dir.path, 'run', 'logs'), { recursive: true });
    await stack.startService('orchestrator');
    env = {
      PATH: process.env.PATH,
      AGENCY_ORCHESTRATOR_URL: stack.url('orchestrator'),
      // Nothing listens there: these commands must not need them.
      AGENCY_REGISTRY_URL: 'http://127.0.0.1:9',
      AGENCY_GIT_SERVICE_URL: 'http://127.0.0.1:9',
      // Keeps the CLI from finding a stack.json of a real `agency up` on this machine.
      AGENCY_RUN_DIR: join(dir.path, 'cli-run'),
      AGENCY_USER: 'cli-test',
    };
    await expectEventually(
      async () => {
        const { sagas } = (await (await fetch(`${stack.url('orchestrator')}/sagas`)).json()) as { sagas: SagaSummary[] };
        expect(sagas.map((s) => [s.frId, s.state])).toEqual([['FR-001', 'discovered']]);
      },
      { timeoutMs: 20_000, message: 'the orchestrator takes FR-001 from the planned folder' },
    );
  }, 120_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await stack?.stop();
    await nats?.dispose();
    dir?.remove();
  });

  it('status lists the FR with its title, state and step', async () => {
    const r = await agency('status');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const row = stripVTControlCharacters(r.stdout)
      .split('\n')
      .find((l) => l.includes('FR-001'));
    expect(row?.split('│').map((c) => c.trim())).toEqual(['', 'FR-001', 'Add a farewell function', 'discovered', 'route', '0', '', '0.0000', '', '']);
  });

  it('status --watch 1 redraws the table until it is stopped, without clearing a screen that is not a terminal', async () => {
    const watch = start(['status', '--watch', '1']);
    const draws = () => watch.run.stdout.match(/^every 1 s, \d\d:\d\d:\d\d UTC \(Ctrl-C stops\)$/gm)?.length ?? 0;
    await expectEventually(() => expect(draws()).toBeGreaterThanOrEqual(2), { timeoutMs: 15_000, message: 'two draws of the table' });
    watch.child.kill('SIGINT');
    const r = await watch.done;
    expect(r.signal).toBe('SIGINT');
    expect(r.stderr).toBe('');
    const tables = r.stdout.split(/^every 1 s, .*$/m).slice(1);
    expect(tables.length).toBeGreaterThanOrEqual(2);
    for (const t of tables) expect(t).toContain('FR-001');
    // No cursor movement or screen clearing on a pipe.
    for (const control of ['\x1b[1;1H', '\x1b[0J', '\x1b[2J']) expect(r.stdout).not.toContain(control);
  });

  it.each(['approve', 'cancel', 'retry'])('%s of an FR the agency has not taken names the id and exits non-zero', async (command) => {
    const r = await agency(command, 'FR-404');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(
      `agency: POST /sagas/FR-404/${command}: 404 no saga for FR-404: the agency has not taken it (is its file in 10_features/03_planned?)`,
    );
  });

  it("prints the orchestrator's reason for a step the FR's state does not allow, and leaves the FR as it was", async () => {
    const approve = await agency('approve', 'FR-001', '--comment', 'ship it');
    expect(approve.code).toBe(1);
    expect(approve.stderr.trim()).toBe('agency: POST /sagas/FR-001/approve: 409 no pr gate is open in discovered');
    const retry = await agency('retry', 'FR-001');
    expect(retry.code).toBe(1);
    expect(retry.stderr.trim()).toBe('agency: POST /sagas/FR-001/retry: 409 FR-001 is discovered; only a failed, blocked or cancelled FR can be retried');
    const { sagas } = (await (await fetch(`${stack.url('orchestrator')}/sagas`)).json()) as { sagas: SagaSummary[] };
    expect(sagas).toMatchObject([{ frId: 'FR-001', state: 'discovered', step: 'route', attempt: 1 }]);
  });

  it('shows an FR the intake refused: status lists it with its code, file and reason, logs says why (issue 13 item 8)', async () => {
    writeFileSync(
      join(stack.options.vaultPath, '10_features', '03_planned', 'FR-090-elsewhere.md'),
      '---\nid: FR-090\ntitle: Elsewhere\nrepo: acme/unknown\n---\n',
    );
    await expectEventually(
      async () => expect(((await (await fetch(`${stack.url('orchestrator')}/sagas`)).json()) as SagaList).refused.map((r) => r.frId)).toContain('FR-090'),
      {
        timeoutMs: 20_000,
        message: 'FR-090 refused',
      },
    );
    const status = await agency('status');
    expect(status.code).toBe(0);
    const lines = stripVTControlCharacters(status.stdout).split('\n');
    const heading = lines.findIndex((l) => l === 'refused or held at intake:');
    expect(heading).toBeGreaterThan(lines.findIndex((l) => l.includes('FR-001')));
    const row = lines.slice(heading).find((l) => l.includes('FR-090'));
    expect(
      row
        ?.split('│')
        .map((c) => c.trim())
        .slice(1, 4),
    ).toEqual(['FR-090', 'INVALID', '10_features/09_blocked/FR-090-elsewhere.md']);
    expect(row).toContain('acme/unknown');

    const logs = await start(['logs', 'FR-090'], { NATS_URL: nats.url }).done;
    expect(logs.stderr).toBe('');
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/^FR-090 was refused at intake \(INVALID\): .*acme\/unknown.*\n {2}file: 10_features\/09_blocked\/FR-090-elsewhere\.md$/m);
    expect(logs.stdout).toContain('fr-refused');
  });

  it('up --once with no FR planned and none in progress says so and starts nothing (a trial waited 25 s for a stack to stop again)', async () => {
    const vault = join(dir.path, 'empty-vault');
    seedVault(join(ROOT, 'examples', 'vault'), vault);
    rmSync(join(vault, FR_FOLDERS.planned), { recursive: true, force: true });
    mkdirSync(join(vault, FR_FOLDERS.planned), { recursive: true });
    const runDir = join(dir.path, 'empty-run');
    const r = await start(['up', '--once', '--run-dir', runDir], { AGENCY_VAULT: vault }).done;
    expect(r.stdout).toContain(`nothing to do: no FR in ${join(vault, FR_FOLDERS.planned)} and none in progress`);
    expect(r.code).toBe(0);
    expect(existsSync(join(runDir, 'stack.json'))).toBe(false);
    expect(existsSync(join(runDir, 'nats'))).toBe(false);
  });

  it('says which service it cannot reach when the orchestrator is not there', async () => {
    const port = await freePort();
    const r = await start(['status'], { AGENCY_ORCHESTRATOR_URL: `http://127.0.0.1:${port}` }).done;
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(new RegExp(`^agency: cannot reach http://127\\.0\\.0\\.1:${port} \\(.+\\); is the agency running\\? \\(npm start\\)$`));
  });

  it("logs of a stopped stack reads the run directory's store with a nats-server of its own, and refuses --follow", async () => {
    const runDir = join(dir.path, 'stopped-run');
    await stoppedRun(runDir, 'FR-007', [
      { sagaId: 'FR-007-r1', count: 1, reason: () => 'the first run failed' },
      { sagaId: 'FR-007-r2', count: 1, reason: () => 'the second run failed' },
    ]);

    // As a person has it after `npm start -- --once` with --run-dir: no service URL set (a trial found it refused).
    const offline = { AGENCY_RUN_DIR: runDir, AGENCY_ORCHESTRATOR_URL: '' };
    const r = await start(['logs', 'FR-007'], offline).done;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(`(no agency is running on ${runDir}: every run of FR-007, from its event store)`);
    expect(lines.slice(1).map((l) => l.replace(/^\d\d:\d\d:\d\d {2}/, '').replace(/ +/g, ' '))).toEqual([
      '== run FR-007-r1',
      `${Messages.AgentStepFailed.type} code-r1 the first run failed`,
      '== run FR-007-r2',
      `${Messages.AgentStepFailed.type} code-r1 the second run failed`,
    ]);
    // The CLI's nats-server is gone again: nothing holds the store.
    expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })).not.toContain(join(runDir, 'nats'));

    const follow = await start(['logs', 'FR-007', '-f'], offline).done;
    expect(follow.code).toBe(1);
    expect(follow.stderr).toContain(`no agency is running on ${runDir}: nothing new can happen, so --follow has nothing to wait for`);
    const empty = await start(['logs', 'FR-007'], { ...offline, AGENCY_RUN_DIR: join(dir.path, 'never-run') }).done;
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('holds no event store');
  });

  it("logs leaves out a heartbeat that repeats its step's last one, the last event included (relay trial rou3)", async () => {
    const runDir = join(dir.path, 'heartbeat-run');
    const own = await startNats(join(runDir, 'nats'));
    const bus = await BusConnection.connect({ servers: own.url, name: 'offline-logs-test' });
    await ensureStreams(bus.jsm);
    const publisher = new BusPublisher(bus, new Clock());
    const ids = { frId: 'FR-009', sagaId: 'FR-009-r1', jobId: 'job-FR-009', step: 'code-r1', attempt: 1 };
    const texts = ['step 2/30: asking coder', 'step 2/30: asking coder', 'step 3/30: run_command', 'step 3/30: run_command'];
    // Each beat its own Nats-Msg-Id, as the agent-runner's (the stream would drop them as duplicates).
    for (const [i, message] of texts.entries()) await publisher.publish(Messages.AgentHeartbeat, { ...ids, payload: { message } }, { msgId: `hb-${i}` });
    await bus.close();
    await own.stop();

    // A repeat as the stream's last event: the reader still ends.
    const r = await start(['logs', 'FR-009'], { AGENCY_RUN_DIR: runDir, AGENCY_ORCHESTRATOR_URL: '' }).done;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.replace(/^\d\d:\d\d:\d\d {2}/, '').replace(/ +/g, ' ')),
    ).toEqual([
      '== run FR-009-r1',
      `${Messages.AgentHeartbeat.type} code-r1 step 2/30: asking coder`,
      `${Messages.AgentHeartbeat.type} code-r1 step 3/30: run_command`,
    ]);
  });

  it("logs of a stopped stack leaves no nats-server behind when its reader goes away early (`| head`: a trial found one left on the run's store)", async () => {
    const runDir = join(dir.path, 'piped-run');
    // More than a pipe holds (64 KiB), so the CLI is still writing when the reader closes.
    await stoppedRun(runDir, 'FR-008', [{ sagaId: 'FR-008-r1', count: 1200, reason: (i) => `attempt ${i} ${'x'.repeat(80)}` }]);

    const logs = start(['logs', 'FR-008'], { AGENCY_RUN_DIR: runDir, AGENCY_ORCHESTRATOR_URL: '' });
    await expectEventually(() => expect(logs.run.stdout).toContain('== run FR-008-r1'), { timeoutMs: 20_000, message: 'the first lines' });
    logs.child.stdout!.destroy();
    const r = await logs.done;
    expect(r.code).toBe(0);
    const store = join(runDir, 'nats');
    await expectEventually(() => expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })).not.toContain(store), {
      timeoutMs: 15_000,
      message: "the CLI's nats-server is gone",
    });
  });
});
