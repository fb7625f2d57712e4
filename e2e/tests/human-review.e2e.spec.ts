import { execFileSync } from 'node:child_process';
import { expectEventually } from '@agency/testing';
import { ScriptedStack, type PullRecord } from './support/scripted-stack.js';

interface SagaView {
  sagaId: string;
  state: string;
  step: string;
  round: number;
  lap: number;
  jobId?: string;
  humanRounds?: number;
  failure?: { code: string; reason: string };
  resume?: { state: string; step: string };
}

interface JobView {
  jobId: string;
  state: string;
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
}

const json = (value: unknown) => JSON.stringify(JSON.stringify(value));
const farewell = (body: string) => `export function farewell(name) {\n  return ${body};\n}\n`;
/** What the coder writes in each round: its own, then each person's request. */
const ROUNDS = [farewell('`Goodbye, ${name}!`'), farewell('`Goodbye, ${name.trim()}!`'), farewell('`Farewell, ${name.trim()}!`')];
const TEST =
  "import assert from 'node:assert/strict';\nimport { test } from 'node:test';\nimport { farewell } from '../src/farewell.js';\n\ntest('farewell', () => {\n  assert.match(farewell('Ada'), /Ada!$/);\n});\n";

/** The scripted model: the agents' reviewer approves every round; the people do not. */
const SCRIPT = `version: 1
rules:
  - match: { model: planner, fr: FR-001 }
    reply:
      content: ${json({ summary: 'Add farewell(name) in src/farewell.js with a test.', steps: [{ title: 'Add farewell()', files: ['src/farewell.js', 'test/farewell.test.js'], detail: 'Return a goodbye.' }], risks: [] })}
  - match: { model: coder, fr: FR-001 }
    replies:
${ROUNDS.map(
  (content, i) =>
    `      - content: ${json({
      summary: `Round ${i + 1} of farewell().`,
      files: [
        { path: 'src/farewell.js', content },
        { path: 'test/farewell.test.js', content: TEST },
      ],
    })}`,
).join('\n')}
  - match: { model: reviewer, fr: FR-001 }
    reply:
      content: ${json({ verdict: 'approve', confidence: 0.95, summary: 'Looks right.', findings: [] })}
`;

/**
 * A person's review rounds on the PR of the local forge (issue 13): each "changes requested" is
 * a new lap that waits for a registry slot of its own, runs the coder, the tests and the review
 * again and updates the same PR, which leaves draft and loses agency:in-progress when the round
 * passes.
 */
describe('human review rounds: changes requested twice on the PR, each answered in the same PR', () => {
  let stack: ScriptedStack;

  const saga = async (): Promise<SagaView> => (await (await fetch(`${stack.url('orchestrator')}/sagas/FR-001`)).json()) as SagaView;
  const job = async (jobId: string): Promise<JobView | undefined> => {
    const res = await fetch(`${stack.url('registry')}/jobs/${jobId}`);
    return res.ok ? ((await res.json()) as JobView) : undefined;
  };
  const pulls = () => `${stack.url('git-service')}/forge/local/repos/example/greeter/pulls`;
  const pr = async (n: number): Promise<PullRecord> => (await (await fetch(`${pulls()}/${n}`)).json()) as PullRecord;
  const post = async (url: string, body: unknown): Promise<void> => {
    const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
  };
  const dispatching = (paused: boolean) => post(`${stack.url('registry')}/jobs/dispatch/${paused ? 'pause' : 'resume'}`, { by: 'e2e' });

  beforeAll(async () => {
    stack = await ScriptedStack.start('agency-human-review-', SCRIPT, { DISPATCH_INTERVAL_MS: '250' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('opens a ready PR after the agents approve round 1', async () => {
    await expectEventually(async () => expect(await saga()).toMatchObject({ state: 'awaiting-merge', step: 'merge-r1' }), {
      timeoutMs: 120_000,
      intervalMs: 500,
      message: 'FR-001 awaiting merge',
    });
    expect(await pr(1)).toMatchObject({ state: 'open', draft: false });
    // The job is completed by an effect of that transition, carried out after it: polled, not read once.
    await expectEventually(async () => expect((await job('job-FR-001-r1'))?.state).toBe('succeeded'), {
      timeoutMs: 30_000,
      message: 'job-FR-001-r1 succeeded',
    });
  });

  for (const [human, body] of [
    [1, 'Trim the name before greeting.'],
    [2, 'Say "Farewell" instead of "Goodbye".'],
  ] as const) {
    const round = human + 1;
    const jobId = `job-FR-001-r1-l${round}`;

    it(`human round ${human}: waits for a job slot of its own, then updates PR #1, which leaves draft and loses agency:in-progress`, async () => {
      await dispatching(true);
      await post(`${pulls()}/1/reviews`, { state: 'changes_requested', author: 'ada', body });
      // The round is a lap with a job of its own: with dispatching paused it waits in the queue (without a slot it would code at once).
      await expectEventually(
        async () =>
          expect(await saga()).toMatchObject({
            state: 'queued',
            step: 'queue',
            lap: round,
            jobId,
            humanRounds: human,
            resume: { state: 'fixing', step: `code-r${round}` },
          }),
        {
          timeoutMs: 30_000,
          message: `round ${round} queued as ${jobId}`,
        },
      );
      expect((await job(jobId))?.state).toBe('queued');
      expect((await saga()).state).toBe('queued');
      await dispatching(false);

      await expectEventually(async () => expect(await saga()).toMatchObject({ state: 'awaiting-merge', step: `merge-r${round}`, round }), {
        timeoutMs: 120_000,
        intervalMs: 500,
        message: `round ${round} back at the PR`,
      });
      expect((await saga()).failure).toBeUndefined();
      await expectEventually(async () => expect((await job(jobId))?.state).toBe('succeeded'), { timeoutMs: 30_000, message: `${jobId} succeeded` });

      const listed = ((await (await fetch(pulls())).json()) as { pulls: PullRecord[] }).pulls;
      expect(listed.map((p) => [p.number, p.state])).toEqual([[1, 'open']]);
      const updated = await pr(1);
      expect(updated.draft).toBe(false);
      expect(updated.labels).toContain('agency');
      expect(updated.labels).not.toContain('agency:in-progress');
      expect(updated.labels).not.toContain('agency:needs-human');
      // The round's work is on the PR's branch, on top of the earlier rounds (never force-pushed).
      const bare = stack.bare;
      expect(git(bare, 'rev-parse', `refs/heads/${updated.branch}`)).toBe(updated.headSha);
      expect(git(bare, 'show', `${updated.headSha}:src/farewell.js`)).toBe(ROUNDS[human]!.trim());
      expect(git(bare, 'rev-list', '--count', `main..${updated.headSha}`)).toBe(String(round));
      const heads = [...new Set(updated.pushes.map((p) => p.headSha))];
      for (const h of heads) expect(git(bare, 'merge-base', '--is-ancestor', h, updated.headSha)).toBe('');
    });
  }

  it('counted three laps, each with its own finished job, and merges as done', async () => {
    const res = await fetch(`${pulls()}/1/merge`, { method: 'POST' });
    expect(res.status).toBe(200);
    await expectEventually(async () => expect((await saga()).state).toBe('done'), { timeoutMs: 30_000 });
    for (const id of ['job-FR-001-r1', 'job-FR-001-r1-l2', 'job-FR-001-r1-l3']) expect((await job(id))?.state).toBe('succeeded');
  });
});
