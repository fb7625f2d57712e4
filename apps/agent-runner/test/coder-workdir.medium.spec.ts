import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { Messages } from '@agency/contracts';
import { RunnerHarness } from './support/runner-harness.js';
import { LlmScript, tools, turns } from './support/scripts.js';

/**
 * Issue 11 item 1's leftover: under SANDBOX=process the coder's commands run in the host
 * worktree, so the prompt must name that directory, not the container's /workspace/repo (a model
 * told the wrong one writes absolute paths that lead nowhere).
 */
describe("the coder's prompt under SANDBOX=process", () => {
  const h = new RunnerHarness();
  const script = new LlmScript();

  beforeAll(async () => {
    await h.start({ SANDBOX: 'process' });
    h.llm.respond = script.respond;
  });

  afterAll(async () => {
    await h.dispose();
  });

  it('names the directory its commands really run in', async () => {
    script.on(
      'workdir',
      'coder',
      turns([tools(['run_command', { command: 'pwd -P' }]), tools(['write_file', { path: 'a.txt', content: 'a\n' }]), tools(['finish', { summary: 'a' }])]),
    );
    const plan = await h.artifacts.putJson('FR-040/workdir/plan.json', {
      summary: 'Write a',
      steps: [{ title: 'a', files: ['a.txt'], detail: '' }],
      risks: [],
    });
    await h.send(Messages.Code, {
      frId: 'FR-040',
      sagaId: 'workdir',
      jobId: 'job-workdir',
      step: 'code-r1',
      attempt: 1,
      payload: { fr: h.fr('FR-040', 'Workdir'), repo: h.repo(), strategy: h.strategy(), plan, round: 1, findings: [] },
    });
    await h.answer(Messages.Coded, 'workdir', 'code-r1', 1, 60_000);

    const calls = h.llm.calls.filter((c) => c.headers['x-agency-saga-id'] === 'workdir');
    const task = calls[0]!.messages[1]!.content;
    const worktree = join(h.workDir.path, 'worktrees', 'job-workdir');
    expect(task).toContain(`the sandbox's working directory ${worktree} is the repository`);
    expect(task).not.toContain('/workspace/repo');
    // And that is where `pwd` ran.
    const ran = calls[1]!.messages.find((m) => m.role === 'tool')!.content;
    expect(ran).toMatch(/^exit code 0, /);
    expect(ran.split('\n')[1]).toBe(realpathSync(worktree));
  });
});
