import { Messages, type CodedEvent } from '@agency/contracts';
import { EXCERPT_CHARS } from '../src/testing/tester.service.js';
import { RunnerHarness } from './support/runner-harness.js';
import { CODE_ANSWER, FIX_ANSWER, LlmScript } from './support/scripts.js';

/** Output no parser knows: a home-made checker's words, long enough that only its end is kept. */
const CHECKER = 'i=0; while [ $i -lt 3000 ]; do echo "widget $i: looks fine"; i=$((i+1)); done; echo "widget 7: WRONG colour"';

/**
 * Issue 11 item 2 through the real tester (process sandbox): a test command whose output no
 * parser understands is `unparsed`, never "0 of 0 passed", and on failure what reaches the coder
 * of the next round is the exit code and the output's end.
 */
describe('test output no parser knows, through the tester to the next round', () => {
  const h = new RunnerHarness();
  const script = new LlmScript();
  let coded: CodedEvent;

  beforeAll(async () => {
    await h.start({ SANDBOX: 'process', TEST_TIMEOUT_SECONDS: '120' });
    h.llm.respond = script.respond;
    script.on('unparsed', 'coder', (call) => (call.messages[1]!.content.includes('Round 2.') ? FIX_ANSWER : CODE_ANSWER));
    const plan = await h.artifacts.putJson('FR-001/unparsed/plan.json', {
      summary: 'farewell',
      steps: [{ title: 'f', files: ['src/farewell.js'], detail: '' }],
      risks: [],
    });
    await h.send(Messages.Code, {
      ...ids('code-r1'),
      payload: { fr: h.fr(), repo: h.repo(), strategy: h.strategy(), plan, round: 1, findings: [] },
    });
    coded = (await h.answer(Messages.Coded, 'unparsed', 'code-r1', 1, 60_000)).payload;
  });

  afterAll(async () => {
    await h.dispose();
  });

  const ids = (step: string, attempt = 1) => ({ frId: 'FR-001', sagaId: 'unparsed', jobId: 'job-unparsed', step, attempt });

  const test = async (testCommand: string, attempt: number) => {
    await h.send(Messages.Test, { ...ids('test-r1', attempt), payload: { repo: h.repo({ testCommand }), workspace: coded.workspace, round: 1 } });
    const tested = (await h.answer(Messages.Tested, 'unparsed', 'test-r1', attempt, 60_000)).payload;
    const report = await h.artifacts.getJson<Record<string, unknown>>(tested.report);
    return { tested, report };
  };

  it('a passing run of unknown output: passed, unparsed, with no count claimed', async () => {
    const { tested, report } = await test(`${CHECKER}; echo "all widgets fine"; exit 0`, 1);
    expect(tested).toMatchObject({ passed: true, exitCode: 0, format: 'unparsed', failureExcerpt: '' });
    // The counts carry no claim: all zero, flagged unparsed (what the saga and the reviewer read).
    expect(tested.counts).toEqual({ total: 0, passed: 0, failed: 0, skipped: 0 });
    expect(report).toMatchObject({ format: 'unparsed', exitCode: 0, tests: [] });
    expect(String(report.outputTail)).toMatch(/all widgets fine\n?$/);
  });

  it("a failing run of unknown output: the coder's next round gets the exit code and the output's end", async () => {
    const { tested, report } = await test(`${CHECKER}; exit 3`, 2);
    expect(tested).toMatchObject({ passed: false, exitCode: 3, format: 'unparsed', timedOut: false });
    expect(report).toMatchObject({ format: 'unparsed', exitCode: 3, failedPhase: 'test' });
    const excerpt = tested.failureExcerpt;
    expect(excerpt.length).toBeLessThanOrEqual(EXCERPT_CHARS);
    expect(excerpt.startsWith(`[test command "${CHECKER}; exit 3" exited with code 3]\n`)).toBe(true);
    expect(excerpt).toMatch(/widget 7: WRONG colour\n?$/);
    expect(excerpt).not.toContain('widget 0: looks fine');
    expect(excerpt).not.toMatch(/\b0\/0\b|0 passed|of 0/);

    // The saga hands the excerpt to the next round as it is (saga.steps: testFailures).
    await h.send(Messages.Code, {
      ...ids('code-r2'),
      payload: {
        fr: h.fr(),
        repo: h.repo({ testCommand: `${CHECKER}; exit 3` }),
        strategy: h.strategy(),
        plan: await h.artifacts.putJson('FR-001/unparsed/plan-2.json', {
          summary: 'fix',
          steps: [{ title: 'f', files: ['src/farewell.js'], detail: '' }],
          risks: [],
        }),
        round: 2,
        findings: [],
        workspace: coded.workspace,
        testFailures: excerpt,
      },
    });
    await h.answer(Messages.Coded, 'unparsed', 'code-r2', 1, 60_000);
    const round2 = h.llm.calls.filter((c) => c.headers['x-agency-saga-id'] === 'unparsed' && c.headers['x-agency-step'] === 'code-r2');
    const prompt = round2[0]!.messages[1]!.content;
    const failing = prompt.slice(prompt.indexOf('# Failing tests of the previous round'));
    expect(failing).toContain('exited with code 3]');
    expect(failing).toContain('widget 7: WRONG colour');
    expect(failing).not.toMatch(/\b0\/0\b|0 passed|of 0/);
  });
});
