import { execFileSync } from 'node:child_process';
import { expectEventually } from '@agency/testing';
import { ScriptedStack, type PullRecord } from './support/scripted-stack.js';

interface SagaSummary {
  frId: string;
  state: string;
  prUrl?: string;
  failure?: string;
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
}

const FAREWELL_R1 = '/** Returns a polite goodbye for `name`. */\nexport function farewell(name) {\n  return `Goodbye, ${name}!`;\n}\n';
const FAREWELL_R2 =
  '/** Returns a polite goodbye for `name`, without the spaces around it. */\nexport function farewell(name) {\n  return `Goodbye, ${name.trim()}!`;\n}\n';
const TEST_R1 =
  "import assert from 'node:assert/strict';\nimport { test } from 'node:test';\nimport { farewell } from '../src/farewell.js';\n\ntest('farewell says goodbye', () => {\n  assert.equal(farewell('Ada'), 'Goodbye, Ada!');\n});\n";
const TEST_R2 = `${TEST_R1}\ntest('farewell trims the name', () => {\n  assert.equal(farewell('  Ada '), 'Goodbye, Ada!');\n});\n`;
const FINDING = 'farewell() keeps the spaces around the name';

const json = (value: unknown) => JSON.stringify(JSON.stringify(value));

/**
 * The scripted model for this run: the reviewer first requests changes with one finding on a
 * changed line, then approves; the coder answers each round with the files of that round.
 */
const SCRIPT = `version: 1
rules:
  - match: { model: planner, fr: FR-001 }
    reply:
      content: ${json({
        summary: 'Add farewell(name) in src/farewell.js and a test for it.',
        steps: [
          { title: 'Add farewell()', files: ['src/farewell.js'], detail: 'Return a goodbye.' },
          { title: 'Test it', files: ['test/farewell.test.js'], detail: 'node:test' },
        ],
        risks: [],
      })}
  - match: { model: coder, fr: FR-001 }
    replies:
      - content: ${json({
        summary: 'Added farewell() and its test.',
        files: [
          { path: 'src/farewell.js', content: FAREWELL_R1 },
          { path: 'test/farewell.test.js', content: TEST_R1 },
        ],
      })}
      - content: ${json({
        summary: 'Trim the name in farewell().',
        files: [
          { path: 'src/farewell.js', content: FAREWELL_R2 },
          { path: 'test/farewell.test.js', content: TEST_R2 },
        ],
      })}
  - match: { model: reviewer, fr: FR-001 }
    replies:
      - content: ${json({ verdict: 'request-changes', confidence: 0.9, summary: 'farewell() does not trim the name.', findings: [{ file: 'src/farewell.js', line: 3, severity: 'major', message: `${FINDING}.`, suggestion: 'Use name.trim().', confidence: 0.9 }] })}
      - content: ${json({ verdict: 'approve', confidence: 0.95, summary: 'The name is trimmed now and tested.', findings: [] })}
`;

describe('review loop: a change requested by the review, fixed in a second round, in one PR', () => {
  let stack: ScriptedStack;

  const saga = async (frId: string): Promise<SagaSummary | undefined> =>
    ((await (await fetch(`${stack.url('orchestrator')}/sagas`)).json()) as { sagas: SagaSummary[] }).sagas.find((s) => s.frId === frId);

  beforeAll(async () => {
    stack = await ScriptedStack.start('agency-review-loop-', SCRIPT);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('ends with one ready PR whose branch has both rounds’ commits and whose description records both reviews', async () => {
    await expectEventually(
      async () => {
        const s = await saga('FR-001');
        expect(s?.failure ?? '').toBe('');
        expect(s?.state).toBe('awaiting-merge');
      },
      { timeoutMs: 240_000, intervalMs: 500, message: 'FR-001 awaiting merge after two review rounds' },
    );
    expect((await saga('FR-001'))!.prUrl).toBe('local://example/greeter/pulls/1');

    const pulls = `${stack.url('git-service')}/forge/local/repos/example/greeter/pulls`;
    const listed = ((await (await fetch(pulls)).json()) as { pulls: PullRecord[] }).pulls;
    expect(listed.map((p) => p.number)).toEqual([1]);
    const pr = (await (await fetch(`${pulls}/1`)).json()) as PullRecord;
    expect(pr).toMatchObject({ number: 1, state: 'open', draft: false, base: 'main', branch: 'agency/FR-001-add-a-farewell-function' });
    expect(pr.labels).toContain('agency');
    expect(pr.labels).not.toContain('agency:in-progress');

    // The branch on the forge: base, then round 1's commit, then round 2's on top of it.
    const bare = stack.bare;
    expect(git(bare, 'rev-parse', `refs/heads/${pr.branch}`)).toBe(pr.headSha);
    const subjects = git(bare, 'log', '--reverse', '--format=%s', `main..${pr.branch}`).split('\n');
    // One commit per round, as a human reviewer reads them: round 1 named after the FR, round 2 after what it fixed.
    expect(subjects).toHaveLength(2);
    expect(subjects[0]).toBe('FR-001: Add a farewell function');
    expect(subjects[1]).toMatch(/^FR-001: .+ \(round 2\)$/);
    expect(git(bare, 'show', `${pr.branch}:src/farewell.js`)).toContain('name.trim()');
    expect(git(bare, 'rev-parse', 'refs/heads/main')).toBe(git(bare, 'rev-list', '--max-parents=0', 'main'));

    // Both rounds were pushed to this one PR, never force-pushed: round 1's head is an ancestor of the final head.
    const heads = [...new Set(pr.pushes.map((p) => p.headSha))];
    expect(heads.length).toBeGreaterThanOrEqual(2);
    expect(heads.at(-1)).toBe(pr.headSha);
    expect(git(bare, 'merge-base', '--is-ancestor', heads[0]!, pr.headSha)).toBe('');

    // The description records both review rounds, in order, with the finding that caused round 2.
    const round1 = pr.body.indexOf('1. round 1: request-changes');
    const round2 = pr.body.indexOf('2. round 2: approve');
    expect(round1).toBeGreaterThan(-1);
    expect(round2).toBeGreaterThan(round1);
    expect(pr.body).toContain('farewell() does not trim the name.');
    expect(pr.body).toContain('The name is trimmed now and tested.');
    expect(pr.body).not.toContain('**Draft');
    // The second round's push left a note in the PR's conversation.
    expect((pr.comments ?? []).some((c) => c.body.includes('Agency pushed new commits'))).toBe(true);
  });
});
