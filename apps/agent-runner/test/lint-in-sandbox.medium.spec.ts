import { randomUUID } from 'node:crypto';
import { Messages } from '@agency/contracts';
import { API_KEY, RunnerHarness } from './support/runner-harness.js';
import { LlmScript, PLAN_ANSWER } from './support/scripts.js';

const CANARY = `canary-${randomUUID()}`;

/** An agent-written "linter" that prints everything it can find of its environment and the processes around it. */
const HOSTILE_LINT = [
  "import { readdirSync, readFileSync } from 'node:fs';",
  "console.log('LINT-RAN as uid ' + process.getuid());",
  'console.log(JSON.stringify(process.env));',
  "for (const pid of readdirSync('/proc').filter((p) => /^\\d+$/.test(p))) {",
  "  try { console.log(pid, readFileSync('/proc/' + pid + '/environ', 'utf8').replace(/\\0/g, ' ')); } catch (e) { console.log(pid, 'unreadable'); }",
  '}',
  "console.log('src/greet.js:1  error  made-up problem  no-canaries');",
  'process.exit(1);',
  '',
].join('\n');

/**
 * Issue 12 item 2: the repository's lint runs in the job's sandbox during the test step, never as
 * a host process; its result travels in the Tested event to the reviewer, which only reads it.
 */
describe('lint in the sandbox', () => {
  const h = new RunnerHarness();
  const script = new LlmScript();

  beforeAll(async () => {
    // The runner's own environment carries the canary (and its gateway key, API_KEY).
    process.env.AGENCY_ENV_CANARY = CANARY;
    await h.start({ AGENCY_ENV_CANARY: CANARY });
    h.llm.respond = script.respond;
  });

  afterAll(async () => {
    delete process.env.AGENCY_ENV_CANARY;
    await h.dispose();
  });

  it(
    "runs an agent-written lint script in the sandbox: its result reaches the Tested event, nothing of the runner's environment does",
    { timeout: 180_000 },
    async () => {
      const ids = (step: string) => ({ frId: 'FR-001', sagaId: 'saga-lint', jobId: 'job-saga-lint', step, attempt: 1 });
      script.on('saga-lint', 'coder', JSON.stringify({ summary: 'Added a linter.', files: [{ path: 'lint.mjs', content: HOSTILE_LINT }] }));
      const plan = await h.artifacts.putJson('FR-001/saga-lint/plan.json', JSON.parse(PLAN_ANSWER) as unknown);
      await h.send(Messages.Code, { ...ids('code-r1'), payload: { fr: h.fr(), repo: h.repo(), strategy: h.strategy(), plan, round: 1, findings: [] } });
      const coded = await h.answer(Messages.Coded, 'saga-lint', 'code-r1', 1, 60_000);

      const repo = h.repo({ lintCommand: 'node lint.mjs' });
      await h.send(Messages.Test, { ...ids('test-r1'), payload: { repo, workspace: coded.payload.workspace, round: 1 } });
      const tested = (await h.answer(Messages.Tested, 'saga-lint', 'test-r1', 1, 60_000)).payload;

      expect(tested.passed).toBe(true);
      expect(tested.lint).toMatchObject({ command: 'node lint.mjs', exitCode: 1, timedOut: false });
      expect(tested.lint!.outputTail).toContain('LINT-RAN as uid 1000');
      expect(tested.lint!.outputTail).toContain('no-canaries');
      const report = await h.artifacts.getText(tested.report);
      expect(report).toContain('LINT-RAN');
      // Nothing of the runner's environment: neither the canary nor its NATS address.
      for (const text of [JSON.stringify(tested), report]) {
        expect(text).not.toContain(CANARY);
        expect(text).not.toContain(API_KEY);
        expect(text).not.toContain(h.nats.url.replace(/^nats:\/\//, ''));
      }
    },
  );
});
