import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { randomFreePortBase } from '@agency/stack';
import { expectEventually, tempDir, type TempDir } from '@agency/testing';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'apps', 'cli', 'src', 'main.js');

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

/** `agency up` as a user runs it, on ports of its own (tests and people run stacks side by side on one machine). */
function agencyUp(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Run {
  const { NATS_URL: _nats, GATEWAY_API_KEYS: _keys, ...env } = process.env;
  const child = spawn(process.execPath, [cli, 'up', ...args], { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString('utf8')));
  return { child, output: () => output, exit: new Promise((resolve) => child.on('exit', resolve)) };
}

/** A run cut short (hook timeout) must not leave its stack behind on a shared machine: SIGTERM stops its services and nats-server. */
async function stopRun(run: Run | undefined): Promise<void> {
  if (!run || run.child.exitCode !== null || run.child.signalCode !== null) return;
  run.child.kill('SIGTERM');
  await run.exit;
}

/**
 * The README's first command, as a user runs it (`npm start` is `agency up`): a local nats-server,
 * the seven services, the bundled example vault and repository, FR-001 out as a pull request,
 * and where to see it printed. `--once` makes it exit when the planned folder is drained.
 */
describe('the quick start: agency up --once on the bundled example', () => {
  let dir: TempDir;
  let base = 0;
  let run: Run | undefined;
  let output = '';
  let code: number | null = null;

  beforeAll(async () => {
    if (!existsSync(cli)) throw new Error('the CLI is not built: run `npm run build` (npm test builds first)');
    dir = tempDir('agency-quick-start-');
    base = await randomFreePortBase();
    run = agencyUp(['--once', '--run-dir', dir.path, '--timeout', '240', '--port-base', String(base)]);
    code = await run.exit;
    output = run.output();
  }, 300_000);

  afterAll(async () => {
    await stopRun(run);
    dir?.remove();
  });

  it('exits 0 once FR-001 is a pull request, having started its own nats-server, the seven services and the dashboard on its port base, each as it became ready', () => {
    expect(code, output.slice(-3000)).toBe(0);
    expect(output).toMatch(/^starting {3}NATS \(a local nats-server/m);
    const ports: Record<string, number> = {
      orchestrator: 0,
      router: 1,
      registry: 2,
      'agent-runner': 3,
      reviewer: 4,
      'git-service': 5,
      'llm-gateway': 6,
      dashboard: 7,
    };
    for (const [s, offset] of Object.entries(ports))
      expect(output).toMatch(new RegExp(`^${s} +http://127\\.0\\.0\\.1:${base + offset}  ready in \\d+\\.\\d s  \\(log `, 'm'));
    expect(output).toContain('the planned folder is drained: 1 FR(s), 0 failed or blocked.');
  });

  it('says where to see the PR, its branch, its trace and the FR file, and they are there', () => {
    expect(output).toContain('== FR-001 "Add a farewell function": awaiting-merge');
    expect(output).toMatch(/pull request {3}local:\/\/example\/greeter\/pulls\/1/);
    const traceId = output.match(/trace {10}([0-9a-f]{32})/)?.[1];
    expect(traceId).toBeDefined();
    const record = output.match(/PR record {6}(\S+)/)?.[1];
    expect(JSON.parse(readFileSync(record!, 'utf8'))).toMatchObject({ number: 1, state: 'open', base: 'main' });
    const frFile = output.match(/FR file {8}(\S+)/)?.[1];
    expect(frFile).toBe(join(dir.path, 'vault', '10_features', '05_in_review', 'FR-001-farewell.md'));
    expect(readFileSync(frFile!, 'utf8')).toMatch(/^pr: local:\/\/example\/greeter\/pulls\/1$/m);
    // The spans of the FR's trace are in the run's span file.
    expect(readFileSync(join(dir.path, 'traces.jsonl'), 'utf8')).toContain(traceId);
    // The branch command is printed whole and runs.
    const branch = output.match(/branch {9}(git .+)$/m)?.[1];
    const git = spawnSync('sh', ['-c', branch!], { encoding: 'utf8' });
    expect(git.status, git.stderr).toBe(0);
    expect(git.stdout).toContain('FR-001: Add a farewell function');
  });

  it("prints what the README's sample output shows, line for line in that order (the sandbox line depends on the machine; a state the 500 ms poll missed is not printed)", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const sample = readme.slice(readme.indexOf('```\nvault ') + 4, readme.indexOf('```', readme.indexOf('```\nvault ') + 4));
    const printed = output.split('\n').map((l) => shapeOf(l, dir.path));
    let at = 0;
    for (const line of sample
      .trimEnd()
      .split('\n')
      .filter((l) => !l.startsWith('sandbox ') && !/^\d\d:\d\d:\d\d {2}FR-001 {3}(?!awaiting-merge)/.test(l))) {
      const found = printed.indexOf(shapeOf(line, dir.path), at);
      expect(found, `README line not printed (in order): ${line}`).toBeGreaterThanOrEqual(0);
      at = found + 1;
    }
  });
});

/** A line of `agency up` without what differs between runs: paths, ports, times, ids, durations, cost. */
function shapeOf(line: string, runDir: string): string {
  return (
    line
      .replaceAll(runDir, '<run>')
      .replaceAll('/home/me/agency/.agency/run', '<run>')
      .replace(/AGENCY_RUN_DIR=\S+ /g, '')
      .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>')
      .replace(/^\d\d:\d\d:\d\d/, '<time>')
      .replace(/\b[0-9a-f]{32}\b/g, '<id>')
      .replace(/ready in \d+\.\d s/, 'ready in <s>')
      // The scripted run's cost follows the prompts' size, which other changes move.
      .replace(/\$\d+\.\d{4}/, '$<cost>')
  );
}

/** Another command of the CLI, against the stack `agency up` runs on `runDir` (found through its stack.json). */
function agency(runDir: string, ...args: string[]) {
  const { NATS_URL: _nats, ...env } = process.env;
  return spawnSync(process.execPath, [cli, ...args], {
    cwd: root,
    env: { ...env, AGENCY_RUN_DIR: runDir },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** GET /v1/models of the gateway with a key: 200 when the gateway takes it. */
async function modelsStatus(url: string, key: string): Promise<number> {
  return (await fetch(`${url}/models`, { headers: { authorization: `Bearer ${key}` } })).status;
}

describe('daily use of a running agency: the shared gateway, merge, status into a pipe, Ctrl-C', () => {
  let dir: TempDir;
  let run: Run | undefined;
  const mine = `me:${randomBytes(12).toString('hex')}`;

  afterAll(async () => {
    await stopRun(run);
    dir?.remove();
  });

  it('merges once, says an FR merged already has nothing to merge, tells the done FR nothing about merging, and stops quietly on Ctrl-C', async () => {
    dir = tempDir('agency-daily-');
    run = agencyUp(['--run-dir', dir.path, '--port-base', String(await randomFreePortBase())], { GATEWAY_API_KEYS: mine });
    await expectEventually(() => expect(run!.output(), run!.output().slice(-3000)).toContain('merge it       AGENCY_RUN_DIR='), { timeoutMs: 240_000 });

    // npm start runs the dashboard and prints its URL; the FR's report links its page.
    const dashboard = run.output().match(/^dashboard {2}(http:\/\/127\.0\.0\.1:\d+) {2}\(open it in a browser/m)![1]!;
    expect(run.output()).toContain(`   dashboard      ${dashboard}/#/fr/FR-001`);
    expect(await (await fetch(dashboard)).text()).toContain('<title>Agency dashboard</title>');
    const detail = (await (await fetch(`${dashboard}/api/sagas/FR-001`)).json()) as { saga: { state: string } };
    expect(detail.saga.state).toBe('awaiting-merge');

    // The gateway is shared: the stack's own key (from `agency gateway`) and the person's GATEWAY_API_KEYS both work; no secret is printed by up.
    expect(run.output()).toMatch(
      /^gateway {4}http:\/\/127\.0\.0\.1:\d+\/v1 {2}\(OpenAI-compatible; its key: AGENCY_RUN_DIR=\S+ npm run agency -- gateway; your GATEWAY_API_KEYS work too: me\)$/m,
    );
    expect(run.output()).not.toContain(mine.slice(3));
    const exports = agency(dir.path, 'gateway');
    expect(exports.status, exports.stderr).toBe(0);
    const url = exports.stdout.match(/^export OPENAI_BASE_URL=(\S+)$/m)![1]!;
    const key = exports.stdout.match(/^export OPENAI_API_KEY=(\S+)$/m)![1]!;
    expect(agency(dir.path, 'gateway', '--key').stdout.trim()).toBe(key);
    expect(await modelsStatus(url, key)).toBe(200);
    expect(await modelsStatus(url, mine.slice(3))).toBe(200);
    expect(await modelsStatus(url, 'not-a-key-of-this-gateway')).toBe(401);

    const status = agency(dir.path, 'status');
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/│ FR-001 .* awaiting-merge /);
    expect(status.stdout).not.toContain('\u001b');

    const first = agency(dir.path, 'merge', 'FR-001');
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^FR-001: merged local:\/\/example\/greeter\/pulls\/1 as [0-9a-f]{12}; the FR moves to done$/m);
    await expectEventually(() => expect(run!.output()).toContain('== FR-001 "Add a farewell function": done'), { timeoutMs: 60_000 });
    const again = agency(dir.path, 'merge', 'FR-001');
    expect(again.status).toBe(1);
    expect(again.stdout).toMatch(/was already merged as [0-9a-f]{12} at .*; nothing to merge$/m);
    const done = run.output().slice(run.output().indexOf('== FR-001 "Add a farewell function": done'));
    expect(done).not.toContain('merge FR-001');

    run.child.kill('SIGINT');
    expect(await run.exit).toBe(130);
    const tail = run.output().slice(run.output().indexOf('stopping the agency...'));
    expect(tail).toContain('stopped: the services and nats-server are down');
    expect(tail).not.toMatch(/cannot reach|agency:/);
    expect(existsSync(join(dir.path, 'stack.json'))).toBe(false);
    expect(existsSync(join(dir.path, 'secrets', 'gateway-key.json'))).toBe(false);
  });
});

describe('the quick start on a port that is taken', () => {
  let dir: TempDir;
  let holder: Server;
  let run: Run | undefined;

  afterAll(async () => {
    await stopRun(run);
    await new Promise<void>((r) => (holder ? holder.close(() => r()) : r()));
    dir?.remove();
  });

  it('stops at once, naming the port, its service and the process holding it, having started nothing', async () => {
    dir = tempDir('agency-port-taken-');
    const base = await randomFreePortBase();
    // What a second agency on 7100-7107 is to this one: a process that has its git-service port.
    holder = createServer();
    await new Promise<void>((r) => holder.listen(base + 5, '127.0.0.1', () => r()));
    run = agencyUp(['--once', '--run-dir', dir.path, '--port-base', String(base)]);
    const code = await run.exit;
    const output = run.output();
    expect(code, output).toBe(1);
    expect(output).toMatch(new RegExp(`^agency: port ${base + 5} \\(git-service\\) is already in use by pid ${process.pid}: \\S*node`, 'm'));
    expect(output).toMatch(/^stop it, or start this one on other ports: agency up --port-base \d+ \(npm start -- --port-base \d+\)$/m);
    // Nothing started: no NATS store, no service log, no stack file.
    expect(existsSync(join(dir.path, 'nats'))).toBe(false);
    expect(readdirSync(join(dir.path, 'logs'))).toEqual([]);
    expect(existsSync(join(dir.path, 'stack.json'))).toBe(false);
    expect(existsSync(join(dir.path, 'secrets', 'gateway-key.json'))).toBe(false);
  });
});
