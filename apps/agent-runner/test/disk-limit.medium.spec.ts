import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Messages } from '@agency/contracts';
import { RunnerHarness } from './support/runner-harness.js';
import { CODE_ANSWER, LlmScript, PLAN_ANSWER } from './support/scripts.js';

const LIMIT_MB = 8;

/** Issue 12 item 3: what a sandboxed command can write is capped by the kernel, and the step says so. */
describe('the sandbox disk limit', () => {
  const h = new RunnerHarness();
  const script = new LlmScript();

  beforeAll(async () => {
    await h.start({ SANDBOX_DISK_MB: String(LIMIT_MB) });
    h.llm.respond = script.respond;
  });

  afterAll(async () => {
    await h.dispose();
  });

  it(
    'stops dd at the limit inside /workspace/repo: the host holds at most the limit and the step fails with SANDBOX_DISK_LIMIT',
    { timeout: 180_000 },
    async () => {
      const ids = (step: string) => ({ frId: 'FR-001', sagaId: 'saga-disk', jobId: 'job-saga-disk', step, attempt: 1 });
      script.on('saga-disk', 'coder', CODE_ANSWER);
      const plan = await h.artifacts.putJson('FR-001/saga-disk/plan.json', JSON.parse(PLAN_ANSWER) as unknown);
      await h.send(Messages.Code, { ...ids('code-r1'), payload: { fr: h.fr(), repo: h.repo(), strategy: h.strategy(), plan, round: 1, findings: [] } });
      const coded = await h.answer(Messages.Coded, 'saga-disk', 'code-r1', 1, 60_000);

      // 64 MB asked for, in the worktree as the sandbox sees it.
      const dd = 'dd if=/dev/zero of=/workspace/repo/big.bin bs=1M count=64';
      await h.send(Messages.Test, { ...ids('test-r1'), payload: { repo: h.repo({ testCommand: dd }), workspace: coded.payload.workspace, round: 1 } });
      const failed = await h.answer(Messages.AgentStepFailed, 'saga-disk', 'test-r1', 1, 60_000);
      expect(failed.payload).toMatchObject({ code: 'SANDBOX_DISK_LIMIT', retryable: false });
      expect(failed.payload.reason).toContain(`at most ${LIMIT_MB} MB (SANDBOX_DISK_MB)`);
      expect(failed.payload.reason).toMatch(/The sandbox now holds \/workspace: \d+\.\d MB/);
      expect(failed.payload.reason).toContain('File size limit exceeded');
      // What reached the host's disk: the file, cut at the limit.
      const big = statSync(join(h.workDir.path, 'worktrees', 'job-saga-disk', 'big.bin'));
      expect(big.size).toBeLessThanOrEqual(LIMIT_MB * 1024 * 1024);
      expect(big.size).toBeGreaterThan(0);
    },
  );
});
