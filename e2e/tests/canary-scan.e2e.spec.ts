import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { BusConnection } from '@agency/messaging';
import { LocalStack, NATS_PRINCIPALS, seedBareRepo, seedVault, STACK_SERVICES, type StackService } from '@agency/stack';
import { expectEventually, freePort, startFakeLlm, tempDir, type FakeLlm, type TempDir } from '@agency/testing';

// Issue 12's scan: the local stack runs an FR to a merged PR with a canary in every secret the
// agency handles (the vendor key the gateway really uses, GitHub's token and webhook secret, the
// stack's own gateway key and NATS passwords, and secrets of the parent's environment that no
// service may get), while the scripted coder prints its environment from the sandbox. Then
// everything the agency wrote is read back (service logs, nats-server's log, the span file, every
// message of every stream: events, commands, dead letters, KV revisions, object chunks; the vault;
// the forge's PR records and every git object; the work directories) and no canary may appear, in
// clear or base64. Each service's own environment holds only its own secrets.

const root = join(import.meta.dirname, '..', '..');
const tag = randomBytes(6).toString('hex');

/** Canaries in the parent's environment, and the one service each may reach (undefined: none). */
const PARENT: Record<string, { value: string; owner?: StackService }> = {
  OPENAI_API_KEY: { value: `sk-canary-openai-${tag}`, owner: 'llm-gateway' },
  ANTHROPIC_API_KEY: { value: `sk-ant-canary-${tag}`, owner: 'llm-gateway' },
  GITHUB_TOKEN: { value: `ghp_canary${tag}`, owner: 'git-service' },
  GITHUB_WEBHOOK_SECRET: { value: `whsec-canary-${tag}`, owner: 'git-service' },
  // The stack makes its own gateway keys and NATS credentials: the parent's reach nobody.
  LLM_GATEWAY_API_KEY: { value: `agk_canary_parent_${tag}` },
  GATEWAY_API_KEYS: { value: `parent:gwk-canary-${tag}` },
  NATS_PASSWORD: { value: `natspw_canary_parent_${tag}` },
  AWS_SECRET_ACCESS_KEY: { value: `aws-canary-${tag}` },
};

const REVIEW = JSON.stringify({ verdict: 'approve', confidence: 0.93, summary: 'farewell() matches the FR and is tested.', findings: [] });
const FAREWELL = '/** Returns a polite goodbye for `name`. */\nexport function farewell(name) {\n  return `Goodbye, ${name}!`;\n}\n';
const TEST =
  "import assert from 'node:assert/strict';\nimport { test } from 'node:test';\nimport { farewell } from '../src/farewell.js';\n\ntest('farewell says goodbye', () => {\n  assert.equal(farewell('Ada'), 'Goodbye, Ada!');\n});\n";
/** What a hostile model would run first: everything the sandbox can see of secrets. */
const SNOOP =
  'env | sort; echo ---; tr "\\0" "\\n" < /proc/1/environ; echo ---; ls -la / /run /var/run 2>&1; cat ~/.npmrc ~/.gitconfig ~/.docker/config.json 2>&1 | head -40';
const turn = (...calls: Array<[string, Record<string, unknown>]>) => ({ tool_calls: calls.map(([name, args]) => ({ name, arguments: args })) });
const SCRIPT = {
  version: 1,
  rules: [
    {
      match: { model: 'planner', fr: 'FR-001' },
      reply: {
        content: JSON.stringify({
          summary: 'Add farewell(name) and a test.',
          steps: [{ title: 'Add farewell()', files: ['src/farewell.js'], detail: 'Return a goodbye.' }],
          risks: [],
        }),
      },
    },
    {
      match: { model: 'coder', fr: 'FR-001' },
      replies: [
        turn(['run_command', { command: SNOOP }]),
        turn(['write_file', { path: 'src/farewell.js', content: FAREWELL }], ['write_file', { path: 'test/farewell.test.js', content: TEST }]),
        turn(['run_command', { command: 'node --test' }]),
        turn(['finish', { summary: 'Added farewell() and its test.' }]),
      ],
    },
  ],
};

interface Found {
  where: string;
  text: string;
}

function walk(dir: string, skip: (path: string) => boolean = () => false): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (skip(p)) return [];
    if (e.isDirectory()) return walk(p, skip);
    return e.isFile() ? [p] : [];
  });
}

/** Every object of every git repository under `dir`, decompressed (commits, trees, blobs). */
function gitObjects(dir: string): Found[] {
  const repos = walk(dir)
    .filter((f) => f.endsWith('/HEAD') && existsSync(join(f, '..', 'objects')))
    .map((f) => join(f, '..'));
  return repos.map((repo) => ({
    where: `git objects of ${repo}`,
    text: execFileSync('git', ['--git-dir', repo, 'cat-file', '--batch-all-objects', '--batch'], { maxBuffer: 512 * 1024 * 1024 }).toString('latin1'),
  }));
}

describe('canary scan: no secret in anything the agency writes', () => {
  let dir: TempDir;
  let stack: LocalStack;
  let fake: FakeLlm;
  let vault: string;
  let forge: string;
  const saved: Record<string, string | undefined> = {};
  const streams: Found[] = [];
  let cliLogs = '';
  const owner = `canary-${tag}`;

  const saga = async (frId: string) =>
    (
      (await (await fetch(`${stack.url('orchestrator')}/sagas`)).json()) as { sagas: Array<{ frId: string; state: string; prUrl?: string; failure?: string }> }
    ).sagas.find((s) => s.frId === frId);

  /** Every secret of this run: the parent's canaries and what the stack made. */
  const secrets = (): Array<[string, string]> => [
    ...Object.entries(PARENT).map(([k, v]): [string, string] => [k, v.value]),
    ['the stack gateway key', stack.gatewayKey],
    ...NATS_PRINCIPALS.map((u): [string, string] => [`the NATS password of ${u}`, stack.natsCredentials(u)!.password]),
  ];

  beforeAll(async () => {
    dir = tempDir('agency-canary-');
    vault = join(dir.path, 'vault');
    forge = join(dir.path, 'forge');
    // A vendor that accepts only the canary key: the review passes only if the gateway sent it.
    fake = await startFakeLlm(PARENT.OPENAI_API_KEY!.value);
    fake.respond = () => REVIEW;
    seedVault(join(root, 'examples', 'vault'), vault);
    const config = join(vault, '40_config', 'agency.yaml');
    writeFileSync(
      config,
      readFileSync(config, 'utf8')
        .replace('root: ../../forge', `root: ${forge}`)
        .replace(
          '      script: llm-script.yaml\n',
          `      script: llm-script.yaml\n    vendor:\n      type: openai-compatible\n      base_url: "${fake.url}"\n      api_key_env: OPENAI_API_KEY\n`,
        )
        .replace('reviewer: [scripted/reviewer]', 'reviewer: [vendor/gpt-canary]')
        .replace('  prices:\n', '  prices:\n    vendor/gpt-canary: { input_per_mtok: 1.0, output_per_mtok: 5.0 }\n'),
    );
    writeFileSync(join(vault, '40_config', 'llm-script.yaml'), JSON.stringify(SCRIPT, null, 2));
    seedBareRepo(forge, 'example/greeter', join(root, 'examples', 'repos', 'greeter'));
    for (const [k, v] of Object.entries(PARENT)) {
      saved[k] = process.env[k];
      process.env[k] = v.value;
    }
    const ports = Object.fromEntries(await Promise.all(STACK_SERVICES.map(async (s) => [s, await freePort()]))) as Record<StackService, number>;
    // The stack's own nats-server (a user per service) and its span file; logs at debug, where a leak is likeliest.
    stack = new LocalStack({
      runDir: join(dir.path, 'run'),
      vaultPath: vault,
      rootDir: root,
      ports,
      env: { LOG_LEVEL: 'debug', SCAN_INTERVAL_MS: '1000' },
      serviceEnv: { 'agent-runner': { SANDBOX_OWNER: owner } },
    });
    await stack.start();
  });

  afterAll(async () => {
    await stack?.stop();
    await fake?.close();
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    if (process.env.KEEP_E2E_DIR) console.log(`e2e state kept in ${dir.path}`);
    else dir?.remove();
  });

  it('takes FR-001 to a merged PR: the reviewer through the vendor key, the coder after snooping in its sandbox', async () => {
    await expectEventually(
      async () => {
        const s = await saga('FR-001');
        expect(s?.failure ?? '').toBe('');
        expect(s?.state).toBe('awaiting-merge');
      },
      { timeoutMs: 240_000, intervalMs: 500, message: 'FR-001 awaiting merge' },
    );
    // The gateway really used the vendor key.
    expect(fake.calls.length).toBeGreaterThan(0);
    expect(fake.calls.every((c) => c.headers.authorization === `Bearer ${PARENT.OPENAI_API_KEY!.value}`)).toBe(true);
    const { prUrl } = (await saga('FR-001'))!;
    const res = await fetch(`${stack.url('git-service')}/forge/local/repos/example/greeter/pulls/${prUrl!.split('/').pop()}/merge`, { method: 'POST' });
    expect(res.status).toBeLessThan(300);
    await expectEventually(async () => expect((await saga('FR-001'))?.state).toBe('done'), { timeoutMs: 60_000 });
  });

  it('gives each child process only its own secrets: the services, nats-server and the sandboxes', async () => {
    const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8');
    for (const service of STACK_SERVICES) {
      const env = environ(stack.pid(service)!);
      for (const [name, c] of Object.entries(PARENT)) expect(env.includes(c.value), `${service} holds the parent's ${name}`).toBe(c.owner === service);
      expect(env.includes(stack.gatewayKey), `${service} holds the gateway key`).toBe(['router', 'agent-runner', 'reviewer', 'llm-gateway'].includes(service));
      for (const u of NATS_PRINCIPALS)
        expect(env.includes(stack.natsCredentials(u)!.password), `${service} holds the NATS password of ${u}`).toBe(u === service);
    }
    const nats = environ(stack.natsProcess!.child.pid!);
    for (const [name, c] of Object.entries(PARENT)) expect(nats.includes(c.value), `nats-server holds ${name}`).toBe(false);
    expect(nats.includes(stack.gatewayKey)).toBe(false);
    // The sandboxes the runner started (its warm pool is still there).
    const docker = new Docker();
    const boxes = await docker.listContainers({ all: true, filters: { label: [`agency.sandbox.owner=${owner}`] } });
    expect(boxes.length).toBeGreaterThan(0);
    for (const b of boxes) {
      const env = ((await docker.getContainer(b.Id).inspect()).Config.Env ?? []).join('\n');
      for (const [name, value] of secrets()) expect(env.includes(value), `sandbox ${b.Names[0]} holds ${name}`).toBe(false);
    }
  });

  it('reads every message of every stream back (events, commands, dead letters, KV, artifacts), and the CLI reads the audit log as its own user', async () => {
    const admin = stack.natsCredentials('admin')!;
    const bus = await BusConnection.connect({ servers: stack.natsUrl, name: 'canary-scan', user: admin.user, password: admin.password });
    try {
      for await (const info of bus.jsm.streams.list()) {
        for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq += 1) {
          const m = await bus.jsm.streams.getMessage(info.config.name, { seq }).catch(() => null);
          if (!m) continue;
          const headers = m.header ? [...m.header].map(([k, v]) => `${k}: ${v.join(',')}`).join('\n') : '';
          streams.push({ where: `${info.config.name} #${seq} ${m.subject}`, text: `${m.subject}\n${headers}\n${Buffer.from(m.data).toString('latin1')}` });
        }
      }
    } finally {
      await bus.close();
    }
    expect(streams.some((s) => s.where.startsWith('AGENCY_EVT'))).toBe(true);
    expect(streams.some((s) => s.where.startsWith('OBJ_agency-artifacts'))).toBe(true);
    expect(streams.some((s) => s.where.startsWith('KV_agency-sagas'))).toBe(true);
    // The sandbox's view made it into the coder's transcript: the scan below reads what it saw.
    expect(streams.some((s) => s.text.includes('HOME=/tmp') && s.text.includes('---'))).toBe(true);

    const cli = spawnSync(process.execPath, [join(root, 'dist', 'apps', 'cli', 'src', 'main.js'), 'logs', 'FR-001'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: process.env.HOME, AGENCY_RUN_DIR: join(dir.path, 'run') },
    });
    cliLogs = cli.stdout + cli.stderr;
    expect(cli.status, cliLogs).toBe(0);
    expect(cliLogs).toMatch(/git-service\.pr-merged/);
  });

  it('finds no canary, in clear or base64, in anything the agency wrote', async () => {
    await stack.stop();
    const run = join(dir.path, 'run');
    // The CLI's credentials file is a secret store by design, the only one.
    const files = [...walk(run, (p) => p === stack.cliCredentialsFile || p === stack.gatewayKeyFile), ...walk(vault), ...walk(forge)];
    const found: Found[] = [
      ...files.map((f) => ({ where: f, text: readFileSync(f).toString('latin1') })),
      ...gitObjects(forge),
      ...gitObjects(join(run, 'work')),
      ...streams,
      { where: 'agency logs FR-001', text: cliLogs },
    ];
    // The places a leak would be: they must have been read.
    for (const must of [stack.logFile('llm-gateway'), stack.logFile('agent-runner'), stack.natsLogFile, stack.traceFile]) expect(files, must).toContain(must);
    expect(statSync(stack.traceFile).size).toBeGreaterThan(0);
    const needles = secrets().flatMap(([name, value]) => [
      [name, value],
      [`${name} (base64)`, Buffer.from(value).toString('base64').replace(/=+$/, '')],
    ]);
    const hits: string[] = [];
    for (const { where, text } of found) for (const [name, needle] of needles) if (text.includes(needle!)) hits.push(`${name} in ${where}`);
    expect(hits).toEqual([]);
    expect(found.length).toBeGreaterThan(100);
  });
});
