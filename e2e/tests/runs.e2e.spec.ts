import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectEventually } from '@agency/testing';
import { ScriptedStack, type PullRecord } from './support/scripted-stack.js';

interface SagaView {
  sagaId: string;
  state: string;
  step: string;
  lap: number;
  jobId?: string;
  frPath: string;
  failure?: { code: string; reason: string };
}

const json = (value: unknown) => JSON.stringify(JSON.stringify(value));
const farewell = (body: string) => `export function farewell(name) {\n  return ${body};\n}\n`;
/** Each FR's coder writes round 1 of its first run, then a different change in a fresh run. */
const CODE = [farewell('`Goodbye, ${name}!`'), farewell('`Farewell, ${name.trim()}!`')];
const TEST =
  "import assert from 'node:assert/strict';\nimport { test } from 'node:test';\nimport { farewell } from '../src/farewell.js';\n\ntest('farewell', () => {\n  assert.match(farewell('Ada'), /Ada!$/);\n});\n";

/** Per FR (the script counts replies per FR): the reviewer rejects its first review, then approves. */
const SCRIPT = `version: 1
rules:
  - match: { model: planner }
    reply:
      content: ${json({ summary: 'Add farewell(name) with a test.', steps: [{ title: 'Add farewell()', files: ['src/farewell.js', 'test/farewell.test.js'], detail: 'Return a goodbye.' }], risks: [] })}
  - match: { model: coder }
    replies:
${CODE.map(
  (content, i) =>
    `      - content: ${json({
      summary: `Change ${i + 1}.`,
      files: [
        { path: 'src/farewell.js', content },
        { path: 'test/farewell.test.js', content: TEST },
      ],
    })}`,
).join('\n')}
  - match: { model: reviewer }
    replies:
      - content: ${json({ verdict: 'reject', confidence: 0.9, summary: 'This is the wrong approach.', findings: [] })}
      - content: ${json({ verdict: 'approve', confidence: 0.95, summary: 'Looks right.', findings: [] })}
`;

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
}

function isAncestor(cwd: string, a: string, b: string): boolean {
  try {
    execFileSync('git', ['merge-base', '--is-ancestor', a, b], { cwd });
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs after the happy path ends (issue 13, items 1 to 4): a retry resumes a blocked run and a
 * cancelled one, each with a job of its own, and a stopped run's PR is closed (its branch deleted
 * on a cancel); an FR moved back to planned after its run was blocked starts afresh from the base
 * although the blocked run's branch was kept on the forge. Real services, git and local forge.
 */
describe('runs: retry after a block and after a cancel, and a fresh run from the base', () => {
  let stack: ScriptedStack;

  const saga = async (frId: string): Promise<SagaView> => (await (await fetch(`${stack.url('orchestrator')}/sagas/${frId}`)).json()) as SagaView;
  const until = (frId: string, expected: Partial<SagaView>, message: string) =>
    expectEventually(async () => expect(await saga(frId)).toMatchObject(expected), { timeoutMs: 120_000, intervalMs: 500, message: `${frId} ${message}` });
  const pulls = async (frId: string): Promise<PullRecord[]> =>
    ((await (await fetch(`${stack.url('git-service')}/forge/local/repos/example/greeter/pulls`)).json()) as { pulls: PullRecord[] }).pulls.filter(
      (p) => p.frId === frId,
    );
  const post = async (path: string, body: unknown = {}) => {
    const res = await fetch(`${stack.url('orchestrator')}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
  };
  const file = (frPath: string) => readFileSync(join(stack.vault, frPath), 'utf8');
  const branchExists = (branch: string) => execFileSync('git', ['-C', stack.bare, 'branch', '--list', branch], { encoding: 'utf8' }).trim() !== '';

  beforeAll(async () => {
    stack = await ScriptedStack.start('agency-runs-', SCRIPT, { DISPATCH_INTERVAL_MS: '250' });
    writeFileSync(
      join(stack.vault, '10_features', '03_planned', 'FR-002-again.md'),
      '---\nid: FR-002\ntitle: Say farewell again\n---\n## Acceptance criteria\n- farewell works\n',
    );
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('blocks both FRs when the review rejects: the draft PR closed with the reason, the branch kept, the real reason in the file', async () => {
    for (const frId of ['FR-001', 'FR-002']) {
      await until(frId, { state: 'blocked', failure: { code: 'REVIEW_REJECTED', reason: 'This is the wrong approach.' } }, 'blocked by the review');
      // The record is saved before its effects move the file: read it once it is in the blocked folder.
      await expectEventually(async () => {
        const s = await saga(frId);
        expect(s.frPath).toMatch(/^10_features\/09_blocked\//);
        expect(file(s.frPath)).toMatch(/^blocked_reason: "?REVIEW_REJECTED: This is the wrong approach\./m);
      });
      await expectEventually(async () => expect((await pulls(frId)).map((p) => p.state)).toEqual(['closed']));
      const [closed] = await pulls(frId);
      expect(branchExists(closed!.branch)).toBe(true);
      expect(closed!.comments?.map((c) => c.body)).toContain('Agency closed this PR: blocked: This is the wrong approach.');
    }
  });

  it('retries the blocked FR-002 with a job of its own, which waits for a slot: the review runs again and a new PR opens', async () => {
    const registry = async (path: string) => {
      const res = await fetch(`${stack.url('registry')}${path}`, { method: 'POST', body: '{"by":"e2e"}', headers: { 'content-type': 'application/json' } });
      expect(res.status).toBeLessThan(300);
    };
    await registry('/jobs/dispatch/pause');
    await post('/sagas/FR-002/retry', { by: 'e2e' });
    // With dispatching paused the retry waits in the queue as job -l2 (without a slot of its own it would review at once).
    await until('FR-002', { state: 'queued', step: 'queue', lap: 2, jobId: 'job-FR-002-r1-l2' }, 'queued for a slot');
    expect(((await (await fetch(`${stack.url('registry')}/jobs/job-FR-002-r1-l2`)).json()) as { state: string }).state).toBe('queued');
    await registry('/jobs/dispatch/resume');
    await until('FR-002', { state: 'awaiting-merge', lap: 2, jobId: 'job-FR-002-r1-l2' }, 'awaiting merge after the retry');
    const s = await saga('FR-002');
    expect(s.failure).toBeUndefined();
    await expectEventually(async () => {
      const now = await saga('FR-002');
      expect(now.frPath).toMatch(/^10_features\/05_in_review\//);
      expect(file(now.frPath)).not.toMatch(/^blocked_reason: \S/m);
    });
    expect((await pulls('FR-002')).map((p) => [p.state, p.jobId])).toEqual([
      ['closed', 'job-FR-002-r1'],
      ['open', 'job-FR-002-r1-l2'],
    ]);
  });

  it("cancels FR-002 at the PR: closed, branch deleted, the reason kept; a retry opens its PR again from the run's work", async () => {
    const before = (await pulls('FR-002')).find((p) => p.state === 'open')!;
    await post('/sagas/FR-002/cancel', { by: 'e2e', reason: 'not this week' });
    await until('FR-002', { state: 'cancelled', failure: { code: 'CANCELLED', reason: 'cancelled by e2e: not this week' } }, 'cancelled');
    await expectEventually(async () => expect((await pulls('FR-002')).every((p) => p.state === 'closed')).toBe(true));
    await expectEventually(() => expect(branchExists(before.branch)).toBe(false));
    await expectEventually(async () => {
      const now = await saga('FR-002');
      expect(now.frPath).toMatch(/^10_features\/09_blocked\//);
      expect(file(now.frPath)).toMatch(/^blocked_reason: "?CANCELLED: cancelled by e2e: not this week/m);
    });

    // Within seconds of the first stop: the retry's effects have ids of their own, none is swallowed as a repeat.
    await post('/sagas/FR-002/retry', { by: 'e2e' });
    await until('FR-002', { state: 'awaiting-merge', lap: 3, jobId: 'job-FR-002-r1-l3' }, 'awaiting merge after cancel and retry');
    const open = (await pulls('FR-002')).filter((p) => p.state === 'open');
    expect(open.map((p) => p.jobId)).toEqual(['job-FR-002-r1-l3']);
    expect(open[0]!.headSha).toBe(before.headSha);
    expect(git(stack.bare, 'rev-parse', `refs/heads/${before.branch}`)).toBe(before.headSha);
  });

  it('starts FR-001 afresh when its file is moved back to planned: the kept branch is replaced, never BRANCH_DIVERGED', async () => {
    const blocked = await saga('FR-001');
    const kept = (await pulls('FR-001'))[0]!;
    const name = blocked.frPath.split('/').pop()!;
    renameSync(join(stack.vault, blocked.frPath), join(stack.vault, '10_features', '03_planned', name));
    await until('FR-001', { sagaId: 'FR-001-r2', state: 'awaiting-merge' }, 'run 2 awaiting merge');
    expect((await saga('FR-001')).failure).toBeUndefined();
    const prs = await pulls('FR-001');
    expect(prs.map((p) => [p.state, p.sagaId])).toEqual([
      ['closed', 'FR-001-r1'],
      ['open', 'FR-001-r2'],
    ]);
    // From the base: the fresh run's one commit, with its own change; the earlier run's commit is gone.
    const head = prs[1]!.headSha;
    expect(prs[1]!.branch).toBe(kept.branch);
    expect(git(stack.bare, 'rev-list', '--count', `main..${head}`)).toBe('1');
    expect(git(stack.bare, 'show', `${head}:src/farewell.js`)).toBe(CODE[1]!.trim());
    expect(isAncestor(stack.bare, kept.headSha, head)).toBe(false);
    expect(existsSync(join(stack.vault, '10_features', '05_in_review', name))).toBe(true);
  });

  it("freed every lap's job with its outcome and removed every worktree, though the stops came seconds apart", async () => {
    const job = async (id: string) => ((await (await fetch(`${stack.url('registry')}/jobs/${id}`)).json()) as { state: string }).state;
    const expected = {
      'job-FR-001-r1': 'failed',
      'job-FR-001-r2': 'succeeded',
      'job-FR-002-r1': 'failed',
      'job-FR-002-r1-l2': 'succeeded',
      'job-FR-002-r1-l3': 'succeeded',
    };
    for (const [id, state] of Object.entries(expected)) expect([id, await job(id)]).toEqual([id, state]);
    const work = join(stack.dir.path, 'run', 'work', 'agent-runner');
    await expectEventually(() => expect([...readdirSync(join(work, 'worktrees')), ...readdirSync(join(work, 'jobs'))]).toEqual([]), {
      message: 'no worktree or job directory left',
    });
  });
});
