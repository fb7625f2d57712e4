import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Messages } from '@agency/contracts';
import { LocalStack } from '@agency/stack';
import { expectEventually, freePort, startFakeLlm, tempDir, type FakeLlm, type TempDir } from '@agency/testing';
import { VAULT_PATH } from './support/greeter-forge.js';
import { RunnerHarness } from './support/runner-harness.js';
import { tools, turns } from './support/scripts.js';

/**
 * Issue 11 item 6: a cancel while the coder waits for the model aborts that HTTP request (it ran
 * on for 37 s, and was billed), ends the step as cancelled and makes no further call.
 * cancel.medium.spec.ts covers a cancel during a sandbox command.
 */
describe('cancelling a job while its model call is in flight', () => {
  const h = new RunnerHarness();

  beforeAll(async () => {
    await h.start({ SANDBOX: 'process' });
  });

  afterAll(async () => {
    await h.dispose();
  });

  it('closes the request the model is still answering, ends the step as cancelled, and calls the model no more', async () => {
    // The first turn writes a file; the second is a model that holds its answer until the caller goes.
    h.llm.respond = turns([tools(['write_file', { path: 'a.txt', content: 'a\n' }]), { hang: true }]);
    const plan = await h.artifacts.putJson('FR-033/cancel-call/plan.json', {
      summary: 'Write a',
      steps: [{ title: 'a', files: ['a.txt'], detail: '' }],
      risks: [],
    });
    const ids = (step: string) => ({ frId: 'FR-033', sagaId: 'cancel-call', jobId: 'job-cancel-call', step, attempt: 1 });
    await h.send(Messages.Code, {
      ...ids('code-r1'),
      payload: { fr: { ...h.fr('FR-033', 'Cancel the call'), body: 'Write a.' }, repo: h.repo(), strategy: h.strategy(), plan, round: 1, findings: [] },
    });
    const calls = () => h.llm.calls.filter((c) => c.headers['x-agency-saga-id'] === 'cancel-call');
    await expectEventually(() => expect(calls()).toHaveLength(2), { timeoutMs: 60_000, message: "the coder's second call, held by the model" });
    expect(calls()[1]!.abandoned).toBe(false);

    await h.send(Messages.Cleanup, { ...ids('cleanup'), payload: { reason: 'saga cancelled', cancel: true } });
    await expectEventually(() => expect(calls()[1]!.abandoned).toBe(true), { timeoutMs: 15_000, message: 'the held request closed by the runner' });
    const failed = await h.answer(Messages.AgentStepFailed, 'cancel-call', 'code-r1');
    expect(failed.payload).toMatchObject({ code: 'JOB_CANCELLED', retryable: false });
    expect((await h.answer(Messages.Cleaned, 'cancel-call', 'cleanup')).payload.removed).toBe(true);
    // The step is over (its failure is out): had it retried the call or gone on, the model would have seen it first.
    expect(calls()).toHaveLength(2);
    expect(await h.events(Messages.Coded, 'cancel-call')).toEqual([]);
  });
});

const root = join(import.meta.dirname, '..', '..', '..');
const VENDOR_KEY = 'vendor-key-0123456789';

/**
 * The same through the real llm-gateway (its own process), the coder's model behind it a vendor
 * (an OpenAI-compatible server) that holds its answer: the cancel must reach the vendor, which
 * sees its request closed, and the gateway must neither retry it nor fall back.
 */
describe('cancelling a job while its model call is in flight, through the real gateway', () => {
  const h = new RunnerHarness();
  let vendor: FakeLlm;
  let vault: TempDir;
  let run: TempDir;
  let stack: LocalStack;

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist', 'apps', 'llm-gateway', 'src', 'main.js')))
      throw new Error('the llm-gateway is not built: run `npm run build` (npm test builds first)');
    vendor = await startFakeLlm(VENDOR_KEY);
    vault = tempDir('cancel-call-vault-');
    run = tempDir('cancel-call-run-');
    cpSync(VAULT_PATH, vault.path, { recursive: true });
    // The coder's alias goes to the vendor; a retry or a fallback would reach it again.
    const config = join(vault.path, '40_config', 'agency.yaml');
    writeFileSync(
      config,
      readFileSync(config, 'utf8')
        .replace('  providers:\n', `  providers:\n    vendor: { type: openai-compatible, base_url: "${vendor.url}", api_key_env: TEST_VENDOR_KEY }\n`)
        .replace('coder: [scripted/coder]', 'coder: [vendor/held-model, scripted/coder]')
        .replace('  prices:\n', '  prices:\n    vendor/held-model: { input_per_mtok: 3.0, output_per_mtok: 15.0 }\n'),
    );
    const port = await freePort();
    stack = new LocalStack({
      runDir: run.path,
      vaultPath: vault.path,
      rootDir: root,
      ports: { 'llm-gateway': port },
      env: { LOG_LEVEL: 'warn', TEST_VENDOR_KEY: VENDOR_KEY },
    });
    // A live model behind the gateway: SANDBOX=process must be allowed for it on purpose.
    await h.start({
      VAULT_PATH: vault.path,
      SANDBOX: 'process',
      SANDBOX_PROCESS_UNSAFE: 'allow',
      LLM_GATEWAY_URL: `${stack.url('llm-gateway')}/v1`,
      LLM_GATEWAY_API_KEY: stack.gatewayKey,
    });
    stack.natsUrl = h.nats.url;
    mkdirSync(join(run.path, 'logs'), { recursive: true });
    await stack.startService('llm-gateway');
  });

  afterAll(async () => {
    await stack?.stop();
    await h.dispose();
    await vendor?.close();
    vault?.remove();
    run?.remove();
  });

  it('closes the vendor request, ends the step as cancelled, and neither retries nor falls back', async () => {
    vendor.respond = turns([tools(['write_file', { path: 'a.txt', content: 'a\n' }]), { hang: true }]);
    const plan = await h.artifacts.putJson('FR-034/cancel-gw/plan.json', {
      summary: 'Write a',
      steps: [{ title: 'a', files: ['a.txt'], detail: '' }],
      risks: [],
    });
    const ids = (step: string) => ({ frId: 'FR-034', sagaId: 'cancel-gw', jobId: 'job-cancel-gw', step, attempt: 1 });
    await h.send(Messages.Code, {
      ...ids('code-r1'),
      payload: {
        fr: { ...h.fr('FR-034', 'Cancel through the gateway'), body: 'Write a.' },
        repo: h.repo(),
        strategy: h.strategy(),
        plan,
        round: 1,
        findings: [],
      },
    });
    await expectEventually(() => expect(vendor.calls).toHaveLength(2), { timeoutMs: 60_000, message: "the coder's second call, held by the vendor" });
    expect(vendor.calls[1]!.abandoned).toBe(false);

    await h.send(Messages.Cleanup, { ...ids('cleanup'), payload: { reason: 'saga cancelled', cancel: true } });
    await expectEventually(() => expect(vendor.calls[1]!.abandoned).toBe(true), { timeoutMs: 15_000, message: 'the vendor request closed by the gateway' });
    const failed = await h.answer(Messages.AgentStepFailed, 'cancel-gw', 'code-r1');
    expect(failed.payload).toMatchObject({ code: 'JOB_CANCELLED', retryable: false });
    // The gateway's usage event of the cancelled call says its walk over the targets is over.
    const usage = await expectEventually(
      async () => {
        const events = (await h.events(Messages.LlmUsage, 'cancel-gw')).filter((e) => e.payload.status === 'error');
        expect(events).toHaveLength(1);
        return events[0]!;
      },
      { timeoutMs: 15_000, message: "the gateway's usage event of the cancelled call" },
    );
    expect(usage.payload).toMatchObject({ alias: 'coder', provider: 'vendor', costUsd: 0 });
    expect(vendor.calls).toHaveLength(2);
    expect(await h.events(Messages.Coded, 'cancel-gw')).toEqual([]);
  });
});
