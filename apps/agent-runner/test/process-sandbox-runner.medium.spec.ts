import { spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Messages, STREAMS, type Envelope, type PayloadOf } from '@agency/contracts';
import { sampleFr, sampleStrategy } from '@agency/contracts/testing';
import { ArtifactStore, BusConnection, BusPublisher, Clock } from '@agency/messaging';
import {
  expectEventually,
  freePort,
  readStream,
  startFakeLlm,
  startNatsServer,
  tempDir,
  type FakeLlm,
  type NatsServerHandle,
  type TempDir,
} from '@agency/testing';
import { makeGreeterForge, VAULT_PATH, type GreeterForge } from './support/greeter-forge.js';
import { releaseJobDisks } from './support/job-disks.js';
import { processesMatching } from './support/processes.js';
import { LlmScript, tools, turns } from './support/scripts.js';
import { buildRunner, chownTreeTo, NODE, ROOT, RUNNER_MAIN, spawnRunner, type SpawnedRunner } from './support/spawned-runner.js';
import { treeDigest } from './support/tree-digest.js';

/** The gateway key doubles as the canary: it must never reach a command. */
const API_KEY = `canary-gateway-key-${process.pid}`;

/** A vault whose coder is a live (openai) model. */
function liveVault(dir: string): string {
  cpSync(VAULT_PATH, dir, { recursive: true });
  const file = join(dir, '40_config', 'agency.yaml');
  const yaml = readFileSync(file, 'utf8')
    .replace('    scripted:\n      type: scripted\n', '    scripted:\n      type: scripted\n    live:\n      type: openai\n      api_key_env: OPENAI_API_KEY\n')
    .replace('coder: [scripted/coder]', 'coder: [live/gpt-4.1]');
  writeFileSync(file, yaml);
  return dir;
}

/** Runs the built runner until it exits (or is ready and stopped), returning its output. */
async function bootOutput(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const port = await freePort();
  const child = spawn(NODE, [RUNNER_MAIN], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const code = await expectEventually(
    async () => {
      if (child.exitCode !== null) return child.exitCode;
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (!ready) throw new Error('not ready and not exited yet');
      child.kill('SIGTERM');
      return null;
    },
    { timeoutMs: 60_000, intervalMs: 200, message: 'the runner exited or became ready' },
  );
  await expectEventually(() => expect(child.exitCode !== null || child.signalCode !== null).toBe(true), { timeoutMs: 30_000, message: 'runner stopped' });
  return { code, output };
}

describe('SANDBOX=process and the vault models', () => {
  let nats: NatsServerHandle;
  let vault: TempDir;
  let work: TempDir;

  beforeAll(async () => {
    buildRunner();
    nats = await startNatsServer();
    vault = tempDir('live-vault-');
    liveVault(vault.path);
    work = tempDir('process-boot-');
  });

  afterAll(async () => {
    await nats?.dispose();
    vault?.remove();
    work?.remove();
  });

  const env = (extra: Record<string, string> = {}) => ({
    NATS_URL: nats.url,
    VAULT_PATH: vault.path,
    WORK_DIR: work.path,
    LLM_GATEWAY_URL: 'http://127.0.0.1:9/v1',
    LLM_GATEWAY_API_KEY: API_KEY,
    SANDBOX: 'process',
    ...extra,
  });

  it('refuses to start for a live model, naming it and the setting that allows it', async () => {
    const { code, output } = await bootOutput(env());
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(output).toContain('these models of the vault are not scripted: coder (openai; 20_agents/coder.md and 4 more)');
    expect(output).toContain('SANDBOX_PROCESS_UNSAFE=allow');
    expect(output).not.toContain(API_KEY);
  }, 120_000);

  it('starts for a live model with SANDBOX_PROCESS_UNSAFE=allow, and says what commands can reach', async () => {
    const { code, output } = await bootOutput(env({ SANDBOX_PROCESS_UNSAFE: 'allow' }));
    expect(code).toBeNull();
    expect(output).toMatch(/SANDBOX=process: commands run in their own namespaces .* as SANDBOX_UID\/GID/);
    expect(output).toContain('SANDBOX_PROCESS_UNSAFE=allow accepts this for live models: coder (openai; 20_agents/coder.md and 4 more)');
  }, 120_000);
});

type Answer = Envelope<PayloadOf<typeof Messages.Coded>>;

/**
 * Issue 12 item 4 through the runner itself: a scripted coder's hostile command in SANDBOX=process
 * finds no secret of the runner (its environment, its parent's, any process's), no NATS, no
 * mirror to configure, and leaves no process behind; as root (commands as SANDBOX_UID) and as
 * uid 1000 (a user namespace).
 */
describe.each([
  ['root', undefined],
  ['uid 1000', { uid: 1000, gid: 1000 }],
])('a hostile command in SANDBOX=process, runner as %s', (_who, user) => {
  let nats: NatsServerHandle;
  let llm: FakeLlm;
  let forge: GreeterForge;
  let work: TempDir;
  let bus: BusConnection;
  let runner: SpawnedRunner | undefined;
  const script = new LlmScript();

  beforeAll(async () => {
    buildRunner();
    nats = await startNatsServer();
    llm = await startFakeLlm(API_KEY);
    llm.respond = script.respond;
    forge = makeGreeterForge();
    work = tempDir('process-runner-');
    mkdirSync(join(work.path, 'home'));
    if (user) {
      for (const dir of [work.path, forge.root.path]) {
        chmodSync(dir, 0o755);
        chownTreeTo(dir, user.uid, user.gid);
      }
    }
    bus = await BusConnection.connect({ servers: nats.url, name: 'process-runner-test' });
    runner = await spawnRunner(
      {
        HOME: join(work.path, 'home'),
        NATS_URL: nats.url,
        VAULT_PATH,
        WORK_DIR: join(work.path, 'work'),
        LLM_GATEWAY_URL: llm.url,
        LLM_GATEWAY_API_KEY: API_KEY,
        SANDBOX: 'process',
        HEARTBEAT_SECONDS: '1',
        BUS_MAX_DELIVER: '2',
      },
      user,
    );
  });

  afterAll(async () => {
    await runner?.stop().catch(() => undefined);
    await bus?.close();
    await llm?.close();
    await nats?.dispose();
    forge?.root.remove();
    if (work) await releaseJobDisks(join(work.path, 'work'));
    work?.remove();
  });

  it('finds no secret, no NATS and no mirror, and leaves nothing running', async () => {
    const natsPort = new URL(nats.url).port;
    const probe = [
      'echo "uid=$(id -u)"',
      'cat /proc/$PPID/environ 2>&1 | tr "\\0" "\\n"',
      'for f in /proc/[0-9]*/environ; do tr "\\0" "\\n" < "$f" 2>/dev/null; done',
      'env',
      `git config --file ${join(work.path, 'work')}/mirrors/*/config filter.pwn.clean "touch /tmp/pwn" 2>&1; echo "mirror-config=$?"`,
      'git config filter.pwn.clean "touch /tmp/pwn" 2>&1; echo "repo-config=$?"',
      `node -e "require('net').connect(${natsPort}, '127.0.0.1').on('connect', () => console.log('NATS-REACHED')).on('error', (e) => console.log('nats:', e.code))"`,
      'setsid env -i sleep 3217 & echo "left=$!"',
    ].join('; ');
    script.on(
      'hostile',
      'coder',
      turns([tools(['run_command', { command: probe }]), tools(['write_file', { path: 'ok.txt', content: 'ok\n' }]), tools(['finish', { summary: 'ok' }])]),
    );
    const plan = await new ArtifactStore(bus).putJson('FR-130/hostile/plan.json', {
      summary: 'ok',
      steps: [{ title: 'ok', files: ['ok.txt'], detail: '' }],
      risks: [],
    });
    await new BusPublisher(bus, new Clock()).publish(Messages.Code, {
      frId: 'FR-130',
      sagaId: 'hostile',
      jobId: 'job-hostile',
      step: 'code-r1',
      attempt: 1,
      payload: {
        fr: { ...sampleFr(), id: 'FR-130', title: 'Hostile', body: 'x' },
        repo: { name: 'example/greeter', cloneUrl: forge.cloneUrl, base: 'main', forge: 'local', testCommand: 'node --test' },
        strategy: { ...sampleStrategy(), plannerModel: 'planner', coderModel: 'coder' },
        plan,
        round: 1,
        findings: [],
      },
    });
    const coded = await expectEventually(
      async () => {
        const failed = (await readStream(bus.js, STREAMS.events.name, Messages.AgentStepFailed.subject)).find((m) => m.text.includes('"hostile"'));
        if (failed) throw new Error(`step failed: ${failed.text}`);
        const found = (await readStream(bus.js, STREAMS.events.name, Messages.Coded.subject))
          .map((m) => JSON.parse(m.text) as Answer)
          .find((e) => e.sagaId === 'hostile');
        if (!found) throw new Error('not coded yet');
        return found;
      },
      { timeoutMs: 120_000, intervalMs: 200, message: 'the hostile job coded' },
    );
    expect(coded.payload.filesChanged).toEqual(['ok.txt']);
    const mirrorDir = (JSON.parse(readFileSync(join(work.path, 'work', 'jobs', 'job-hostile.json'), 'utf8')) as { mirrorDir: string }).mirrorDir;
    const told = llm.calls.flatMap((c) => c.messages.filter((m) => m.role === 'tool').map((m) => m.content)).join('\n');
    expect(told).toContain(user ? 'uid=0' : 'uid=1000');
    expect(told).not.toContain(API_KEY);
    expect(told).not.toContain('NATS_URL');
    expect(told).not.toContain('NATS-REACHED');
    expect(told).toMatch(/nats: E(NETUNREACH|CONNREFUSED)/);
    expect(told).toMatch(/mirror-config=[1-9]/);
    expect(told).toMatch(/repo-config=[1-9]/);
    expect(told).toMatch(/left=\d+/);
    expect(readFileSync(join(mirrorDir, 'config'), 'utf8')).not.toContain('pwn');
    expect(treeDigest(join(mirrorDir, 'hooks')).join('\n')).not.toContain('pwn');
    // The namespace died with the command: its setsid daemon is gone from the host.
    expect(processesMatching(/^sleep 3217$/)).toEqual([]);
  }, 240_000);
});
