import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { Messages, type RepoTargetDto } from '@agency/contracts';
import type { FakeLlmCall } from '@agency/testing';
import { tempDir, type TempDir } from '@agency/testing';
import { VAULT_PATH } from './support/greeter-forge.js';
import { BRIDGE_HOST, listen, makeNpmRepo, startLocalRegistry, type LocalRegistry } from './support/npm-fixture.js';
import { RunnerHarness } from './support/runner-harness.js';
import { LlmScript, PLAN_ANSWER, tools, turns } from './support/scripts.js';

/** Tries the forbidden host through the proxy (CONNECT and plain HTTP) and directly; exits 1 when refused. */
const PROBE = (forbidden: string) => `import net from 'node:net';
const [host, port] = ${JSON.stringify(forbidden)}.split(':');
const proxy = new URL(process.env.HTTP_PROXY);
const ask = (request) => new Promise((resolve) => {
  const s = net.connect(Number(proxy.port), proxy.hostname, () => s.write(request));
  let got = '';
  s.on('data', (d) => { got += d; const m = /^HTTP\\/1\\.1 (\\d+)/.exec(got); if (m) { s.destroy(); resolve(Number(m[1])); } });
  s.on('error', (e) => resolve(e.code));
});
const connect = await ask('CONNECT ' + host + ':' + port + ' HTTP/1.1\\r\\nHost: ' + host + ':' + port + '\\r\\n\\r\\n');
const plain = await ask('GET http://' + host + ':' + port + '/ HTTP/1.1\\r\\nHost: ' + host + ':' + port + '\\r\\nConnection: close\\r\\n\\r\\n');
const direct = await new Promise((resolve) => {
  const s = net.connect({ host, port: Number(port), timeout: 5000 }, () => { s.destroy(); resolve('CONNECTED'); });
  s.on('timeout', () => { s.destroy(); resolve('TIMEOUT'); });
  s.on('error', (e) => resolve(e.code));
});
console.log('probe: CONNECT ' + connect + ', GET ' + plain + ', direct ' + direct);
process.exit(connect === 403 && plain === 403 ? 1 : 0);
`;

/**
 * Repository environments (issue 11 item 1): the setup runs once per job in the job's sandbox,
 * through the allowlisting registry proxy; the coder's commands and the tests use what it
 * installed with no network; the next job restores it from the cache without installing.
 */
describe('repository environments', () => {
  const h = new RunnerHarness();
  const script = new LlmScript();
  let work: TempDir;
  let registry: LocalRegistry;
  let forbiddenHits = 0;
  let forbiddenPort = 0;
  let repo: RepoTargetDto;
  let probeRepo: RepoTargetDto;
  const forbidden = createServer((_req, res) => {
    forbiddenHits += 1;
    res.end('should never be reached');
  });

  beforeAll(async () => {
    work = tempDir('environments-');
    registry = await startLocalRegistry(work.path);
    forbiddenPort = await listen(forbidden);
    const npm = makeNpmRepo(work.path, 'envs-app', registry);
    const probe = makeNpmRepo(work.path, 'envs-probe', registry, { 'probe.mjs': PROBE(`${BRIDGE_HOST}:${forbiddenPort}`) });
    const vault = join(work.path, 'vault');
    cpSync(VAULT_PATH, vault, { recursive: true });
    const file = join(vault, '40_config', 'agency.yaml');
    const entries = [
      `  example/envs:\n    forge: local\n    setup: npm ci --no-audit --no-fund\n    test: npm test\n    registries: ["${registry.hostPort}"]\n`,
      `  example/envs-probe:\n    forge: local\n    setup: node probe.mjs\n    test: npm test\n    registries: ["${registry.hostPort}"]\n`,
    ];
    writeFileSync(file, readFileSync(file, 'utf8').replace('repos:\n', `repos:\n${entries.join('')}`));
    repo = { name: 'example/envs', cloneUrl: npm.cloneUrl, base: 'main', forge: 'local', setupCommand: 'npm ci --no-audit --no-fund', testCommand: 'npm test' };
    probeRepo = { ...repo, name: 'example/envs-probe', cloneUrl: probe.cloneUrl, setupCommand: 'node probe.mjs' };
    await h.start({ VAULT_PATH: vault, SANDBOX_POOL_SIZE: '1', COMMAND_TIMEOUT_SECONDS: '120', SETUP_TIMEOUT_SECONDS: '300' });
    h.llm.respond = script.respond;
  });

  afterAll(async () => {
    await h.dispose();
    await registry?.close();
    forbidden.close();
    work?.remove();
  });

  /** A coder that runs the tests, adds a file and finishes; its second call carries the run_command result. */
  function coderRunsTests(sagaId: string): FakeLlmCall[] {
    const calls: FakeLlmCall[] = [];
    const reply = turns([
      tools(['run_command', { command: 'npm test' }]),
      tools(['write_file', { path: `NOTES-${sagaId}.md`, content: 'ran the tests\n' }]),
      tools(['finish', { summary: 'Ran the tests.' }]),
    ]);
    script.on(sagaId, 'coder', (call) => {
      calls.push(call);
      return reply(call);
    });
    return calls;
  }

  const commandResult = (calls: FakeLlmCall[]) => JSON.stringify(calls[1]?.messages.filter((m) => m.role === 'tool'));
  const tarballGets = () => registry.requests.filter((r) => r.includes('.tgz')).length;

  async function codeAndTest(sagaId: string, target: RepoTargetDto, frId: string) {
    const ids = (step: string) => ({ frId, sagaId, jobId: `job-${sagaId}`, step, attempt: 1 });
    const plan = await h.artifacts.putJson(`${frId}/${sagaId}/plan.json`, JSON.parse(PLAN_ANSWER) as unknown);
    const calls = coderRunsTests(sagaId);
    await h.send(Messages.Code, {
      ...ids('code-r1'),
      payload: { fr: h.fr(frId, `Job ${sagaId}`), repo: target, strategy: h.strategy(), plan, round: 1, findings: [] },
    });
    const coded = await h.answer(Messages.Coded, sagaId, 'code-r1', 1, 240_000);
    const afterCode = tarballGets();
    await h.send(Messages.Test, { ...ids('test-r1'), payload: { repo: target, workspace: coded.payload.workspace, round: 1 } });
    const tested = await h.answer(Messages.Tested, sagaId, 'test-r1', 1, 120_000);
    const report = await h.artifacts.getJson<{ environment: Record<string, unknown> }>(tested.payload.report);
    return { calls, coded, tested: tested.payload, report, afterCode, worktree: join(h.workDir.path, 'worktrees', `job-${sagaId}`) };
  }

  it(
    "installs once per job through the proxy; the coder's command and the tests use it with no network; it is never committed",
    { timeout: 400_000 },
    async () => {
      const first = await codeAndTest('saga-env-1', repo, 'FR-001');
      // The coder's run_command found the runner in node_modules (installed before its first command, in the sandbox).
      expect(commandResult(first.calls)).toContain('tiny-test: 1 passed');
      expect(first.afterCode).toBe(1);
      // The tester did not install again: no registry request, and its report says the environment was there.
      expect(tarballGets()).toBe(1);
      expect(first.tested.passed).toBe(true);
      expect(first.report.environment).toMatchObject({
        action: 'present',
        ok: true,
        cached: false,
        setupCommand: 'npm ci --no-audit --no-fund',
        paths: ['node_modules/'],
      });
      // Installed in the worktree, excluded from git: neither the checkpoint nor the bundle carries it.
      expect(existsSync(join(first.worktree, 'node_modules', '.bin', 'tiny-test'))).toBe(true);
      expect(first.coded.payload.filesChanged).toEqual(['NOTES-saga-env-1.md']);
    },
  );

  it("restores the next job's environment from the cache: no install runs", { timeout: 400_000 }, async () => {
    const before = registry.requests.length;
    const entries = join(h.workDir.path, 'environments', 'entries');
    const storedAt = statSync(
      join(
        entries,
        readdirSync(entries).find((n) => n.endsWith('.tar'))!,
      ),
    ).mtimeMs;
    const second = await codeAndTest('saga-env-2', repo, 'FR-002');
    expect(commandResult(second.calls)).toContain('tiny-test: 1 passed');
    // Nothing reached the registry: the environment came from the cache, unpacked in the sandbox.
    expect(registry.requests.length).toBe(before);
    expect(second.tested.passed).toBe(true);
    expect(second.report.environment).toMatchObject({ action: 'present', ok: true, cached: true, paths: ['node_modules/'] });
    // The stored entry: one archive, read-only and the runner's, unchanged by the restore (it was mounted read-only).
    const archives = readdirSync(entries).filter((n) => n.endsWith('.tar'));
    expect(archives).toHaveLength(1);
    const entry = statSync(join(entries, archives[0]!));
    expect(entry.mode & 0o777).toBe(0o444);
    expect(entry.uid).toBe(process.getuid?.());
    expect(entry.mtimeMs).toBe(storedAt);
  });

  it(
    "builds the job's environment while the model plans: the first code round finds it ready, installs nothing and knows the tests at the base",
    { timeout: 400_000 },
    async () => {
      const sagaId = 'saga-env-warm';
      const jobId = `job-${sagaId}`;
      const worktree = join(h.workDir.path, 'worktrees', jobId);
      // The planner answers only once the setup's test runner is in the job's worktree: nothing but the warm-up could put it
      // there before the plan exists (without it this call fails at its deadline, and the plan with it).
      let sawEnvironment = false;
      script.on(sagaId, 'planner', async () => {
        await vi.waitFor(() => expect(existsSync(join(worktree, 'node_modules', '.bin', 'tiny-test'))).toBe(true), { timeout: 240_000, interval: 100 });
        sawEnvironment = true;
        return PLAN_ANSWER;
      });
      await h.send(Messages.Plan, {
        frId: 'FR-004',
        sagaId,
        jobId,
        step: 'plan',
        attempt: 1,
        payload: { fr: h.fr('FR-004', 'Warm'), repo, strategy: h.strategy() },
      });
      const planned = await h.answer(Messages.Planned, sagaId, 'plan', 1, 300_000);
      expect(sawEnvironment).toBe(true);
      const registryBefore = registry.requests.length;
      const calls = coderRunsTests(sagaId);
      await h.send(Messages.Code, {
        frId: 'FR-004',
        sagaId,
        jobId,
        step: 'code-r1',
        attempt: 1,
        payload: { fr: h.fr('FR-004', 'Warm'), repo, strategy: h.strategy(), plan: planned.payload.plan, round: 1, findings: [] },
      });
      const coded = await h.answer(Messages.Coded, sagaId, 'code-r1', 1, 240_000);
      expect(coded.payload.filesChanged).toEqual([`NOTES-${sagaId}.md`]);
      expect(commandResult(calls)).toContain('tiny-test: 1 passed');
      // The coder's first prompt: what the warm-up did (the cache entry of the first test), and how the tests went at the base.
      const task = JSON.stringify(calls[0]!.messages);
      expect(task).toContain('were restored from the cache by its setup');
      expect(task).toContain('passed at the base');
      // The code step installed nothing: the registry saw no request after planning.
      expect(registry.requests.length).toBe(registryBefore);
    },
  );

  it('tells a failure the base already had from a new one: the test step marks failures that all failed at the base', { timeout: 400_000 }, async () => {
    const sagaId = 'saga-env-basefail';
    // The setup leaves a test that fails at the base (setup output stays in the worktree, out of git): the base is red before any change.
    const red = h.repo({
      setupCommand: `printf '%s\\n' "import test from 'node:test';" "test('fails at the base', () => { throw new Error('red before any change'); });" > base-fail.test.mjs`,
      testCommand: 'node --test',
    });
    const calls = coderRunsTests(sagaId);
    const plan = await h.artifacts.putJson(`FR-005/${sagaId}/plan.json`, JSON.parse(PLAN_ANSWER) as unknown);
    const ids = (step: string) => ({ frId: 'FR-005', sagaId, jobId: `job-${sagaId}`, step, attempt: 1 });
    await h.send(Messages.Code, {
      ...ids('code-r1'),
      payload: { fr: h.fr('FR-005', 'Red base'), repo: red, strategy: h.strategy(), plan, round: 1, findings: [] },
    });
    const coded = await h.answer(Messages.Coded, sagaId, 'code-r1', 1, 240_000);
    // The coder was told the base was red, by the test's name.
    expect(JSON.stringify(calls[0]!.messages)).toContain('already failed at the base');
    await h.send(Messages.Test, { ...ids('test-r1'), payload: { repo: red, workspace: coded.payload.workspace, round: 1 } });
    const tested = (await h.answer(Messages.Tested, sagaId, 'test-r1', 1, 120_000)).payload;
    expect(tested.passed).toBe(false);
    expect(tested.counts.failed).toBe(1);
    expect(tested.failedAtBase).toEqual({ count: 1, names: ['fails at the base'] });
  });

  it(
    'refuses a host the repository does not name, through the proxy and directly; the setup fails with its code and the refusal',
    { timeout: 300_000 },
    async () => {
      const sagaId = 'saga-env-probe';
      const plan = await h.artifacts.putJson(`FR-003/${sagaId}/plan.json`, JSON.parse(PLAN_ANSWER) as unknown);
      coderRunsTests(sagaId);
      await h.send(Messages.Code, {
        frId: 'FR-003',
        sagaId,
        jobId: `job-${sagaId}`,
        step: 'code-r1',
        attempt: 1,
        payload: { fr: h.fr('FR-003', 'Probe'), repo: probeRepo, strategy: h.strategy(), plan, round: 1, findings: [] },
      });
      const failed = await h.answer(Messages.AgentStepFailed, sagaId, 'code-r1', 1, 240_000);
      expect(failed.payload).toMatchObject({ code: 'ENV_SETUP_FAILED', retryable: false });
      expect(failed.payload.reason).toMatch(/probe: CONNECT 403, GET 403, direct (ENETUNREACH|EHOSTUNREACH|TIMEOUT|ECONNREFUSED)/);
      expect(failed.payload.reason).toContain(`registry proxy refused: CONNECT ${BRIDGE_HOST}:${forbiddenPort}; GET ${BRIDGE_HOST}:${forbiddenPort}`);
      expect(forbiddenHits).toBe(0);
    },
  );
});
