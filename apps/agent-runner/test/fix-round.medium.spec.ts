import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Messages, type CodedEvent, type Envelope, type PlannedEvent } from '@agency/contracts';
import { git } from './support/greeter-forge.js';
import { RunnerHarness } from './support/runner-harness.js';
import { CODE_ANSWER, FIX_ANSWER, LlmScript, PLAN_ANSWER } from './support/scripts.js';

const h = new RunnerHarness();
const script = new LlmScript();
const ids = (step: string) => ({ frId: 'FR-001', sagaId: 'saga-fix', jobId: 'job-fix', step, attempt: 1 });

describe('a fix round on another runner (new WORK_DIR)', () => {
  let planned: Envelope<PlannedEvent>;
  let round1: Envelope<CodedEvent>;
  let firstWorkDir: string;

  beforeAll(async () => {
    await h.start();
    h.llm.respond = script.respond;
    script.on('saga-fix', 'planner', PLAN_ANSWER);
    script.on('saga-fix', 'coder', (call) => (call.messages[1]!.content.includes('Review findings') ? FIX_ANSWER : CODE_ANSWER));
  });

  afterAll(async () => {
    await h.dispose();
  });

  it('codes round 1 on the first runner', async () => {
    await h.send(Messages.Plan, { ...ids('plan'), payload: { fr: h.fr(), repo: h.repo(), strategy: h.strategy() } });
    planned = await h.answer(Messages.Planned, 'saga-fix', 'plan');
    await h.send(Messages.Code, {
      ...ids('code-r1'),
      payload: { fr: h.fr(), repo: h.repo(), strategy: h.strategy(), plan: planned.payload.plan, round: 1, findings: [] },
    });
    round1 = await h.answer(Messages.Coded, 'saga-fix', 'code-r1');
    expect(round1.payload.commits).toBe(1);
    firstWorkDir = h.workDir.path;
  });

  it('recreates the worktree from the round-1 bundle and commits round 2 on top of it', async () => {
    await h.stopRunner();
    await h.startRunner();
    expect(h.workDir.path).not.toBe(firstWorkDir);
    expect(existsSync(join(h.workDir.path, 'worktrees', 'job-fix'))).toBe(false);

    const finding = { file: 'src/farewell.js', line: 3, severity: 'minor' as const, message: 'Trim the name', suggestion: 'name.trim()', blocking: false };
    await h.send(Messages.Code, {
      ...ids('code-r2'),
      payload: {
        fr: h.fr(),
        repo: h.repo(),
        strategy: h.strategy(),
        plan: planned.payload.plan,
        round: 2,
        workspace: round1.payload.workspace,
        findings: [finding],
        testFailures: 'not ok 1 - something',
      },
    });
    const round2 = (await h.answer(Messages.Coded, 'saga-fix', 'code-r2')).payload;

    // The coder saw round 1's files, recreated from the bundle, and the findings.
    const prompt = h.llm.calls.filter((c) => c.headers['x-agency-step'] === 'code-r2')[0]!.messages[1]!.content;
    expect(prompt).toContain('## src/farewell.js');
    expect(prompt).toContain('Trim the name');
    expect(prompt).toContain('not ok 1 - something');

    expect(round2).toMatchObject({ round: 2, commits: 2, filesChanged: expect.arrayContaining(['src/farewell.js', 'test/farewell.test.js']) });
    expect(round2.workspace).toMatchObject({ branch: round1.payload.workspace.branch, baseSha: h.forge.baseSha });
    const worktree = join(h.workDir.path, 'worktrees', 'job-fix');
    expect(git(worktree, 'rev-parse', 'HEAD^')).toBe(round1.payload.workspace.headSha);
    expect(git(worktree, 'log', '-1', '--format=%s')).toBe('FR-001: Trim the name in farewell(). (round 2)');
    expect(readFileSync(join(worktree, 'src/farewell.js'), 'utf8')).toContain('${name.trim()}');

    // Round 2's bundle carries base..head (both commits): a fresh clone needs nothing else.
    const clone = h.forge.freshClone('check-r2');
    const file = join(h.forge.root.path, 'r2.bundle');
    writeFileSync(file, await h.artifacts.get(round2.workspace.bundle));
    const branch = round2.workspace.branch;
    git(clone, 'fetch', '-q', file, `refs/heads/${branch}:refs/heads/${branch}`);
    expect(git(clone, 'rev-list', '--count', `${h.forge.baseSha}..${branch}`)).toBe('2');
    expect(await h.artifacts.getText(round2.diff)).toBe(`${git(clone, 'diff', h.forge.baseSha, round2.workspace.headSha)}\n`);

    // And its tests pass on this runner.
    await h.send(Messages.Test, { ...ids('test-r2'), payload: { repo: h.repo(), workspace: round2.workspace, round: 2 } });
    const tested = (await h.answer(Messages.Tested, 'saga-fix', 'test-r2')).payload;
    expect(tested).toMatchObject({ passed: true, headSha: round2.workspace.headSha, counts: { total: 2, passed: 2, failed: 0, skipped: 0 } });
  });

  it('tests an earlier head on a runner that never saw it (test command after a restart)', async () => {
    await h.stopRunner();
    await h.startRunner();
    await h.send(Messages.Test, { ...ids('test-r1'), payload: { repo: h.repo(), workspace: round1.payload.workspace, round: 1 } });
    const tested = (await h.answer(Messages.Tested, 'saga-fix', 'test-r1')).payload;
    expect(tested).toMatchObject({ passed: true, headSha: round1.payload.workspace.headSha });
    expect(git(join(h.workDir.path, 'worktrees', 'job-fix'), 'rev-parse', 'HEAD')).toBe(round1.payload.workspace.headSha);
  });
});
