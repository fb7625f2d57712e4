import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Messages } from '@agency/contracts';
import { RunnerHarness } from './support/runner-harness.js';
import { LlmScript, PLAN_ANSWER, tools, turns } from './support/scripts.js';

const SECRET = 'PLANNER-OUTSIDE-SECRET-7d2e';

/**
 * The example vault's planner reads before it plans, through the real runner: its tools answer
 * from the mirror's objects at the base commit (base-tree-tools.spec.ts shows a later commit is
 * not seen), a path out of the repository is refused, and the plan records what was read.
 */
describe('the planner reads the base commit before it plans', () => {
  const h = new RunnerHarness();
  const script = new LlmScript();

  beforeAll(async () => {
    await h.start({ SANDBOX: 'process' });
    h.llm.respond = script.respond;
    writeFileSync(join(h.forge.root.path, 'secret.txt'), `${SECRET}\n`);
  });

  afterAll(async () => {
    await h.dispose();
  });

  it("answers the planner's reads from the base and keeps the record in the plan", async () => {
    script.on(
      'reads',
      'planner',
      turns([
        tools(['read_file', { path: 'src/greet.js' }], ['search', { pattern: 'export function' }], ['read_file', { path: '../secret.txt' }]),
        tools(['list_files', { path: 'src' }]),
        { content: `The plan:\n${PLAN_ANSWER}` },
      ]),
    );
    const repo = h.repo();
    await h.send(Messages.Plan, {
      frId: 'FR-001',
      sagaId: 'reads',
      jobId: 'job-reads',
      step: 'plan',
      attempt: 1,
      payload: { fr: h.fr(), repo, strategy: h.strategy() },
    });
    const planned = await h.answer(Messages.Planned, 'reads', 'plan');
    expect(planned.payload).toMatchObject({ summary: 'Add farewell(name) in src/farewell.js and a test for it.', stepCount: 2 });

    const calls = h.llm.calls.filter((c) => c.headers['x-agency-saga-id'] === 'reads');
    expect(calls).toHaveLength(3);
    expect(calls[0]!.tools).toEqual(['list_files', 'read_file', 'search']);
    const results = calls[1]!.messages.filter((m) => m.role === 'tool').map((m) => String(m.content));
    expect(results[0]).toMatch(/^src\/greet.js \(\d+ lines?\)\n1\t/);
    expect(results[1]).toContain('src/greet.js:');
    expect(results[2]).toMatch(/^error: path "\.\.\/secret.txt"/);
    expect(calls.flatMap((c) => c.messages.map((m) => String(m.content))).join('\n')).not.toContain(SECRET);
    const plan = await h.artifactJson<{ meta: { turns: number; explored: string[] } }>(planned.payload.plan.key);
    expect(plan.meta.turns).toBe(3);
    expect(plan.meta.explored).toHaveLength(4);
    expect(plan.meta.explored[0]).toMatch(/^read_file /);
  });
});
