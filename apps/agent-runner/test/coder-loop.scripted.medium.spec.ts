import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Messages, type ArtifactRefDto } from '@agency/contracts';
import { expectEventually, type TempDir } from '@agency/testing';
import { git } from './support/greeter-forge.js';
import { RunnerHarness } from './support/runner-harness.js';
import { startScriptedGateway, turn, type ScriptedGateway } from './support/scripted-gateway.js';
import { FAREWELL_JS, FAREWELL_TEST_JS } from './support/scripts.js';

const MAX_STEPS = 5;

const SCRIPT = {
  version: 1,
  rules: [
    {
      match: { model: 'coder', fr: 'FR-021' },
      replies: [
        turn(['list_files', { path: 'src' }]),
        turn(['write_file', { path: 'src/farewell.js', content: FAREWELL_JS }]),
        turn(['write_file', { path: 'test/farewell.test.js', content: FAREWELL_TEST_JS }], ['run_command', { command: 'node --test' }]),
        turn(['finish', { summary: 'Added farewell() and its test.' }]),
      ],
    },
    {
      match: { model: 'coder', fr: 'FR-022' },
      replies: [turn(['write_file', { path: 'NOTES.md', content: 'notes\n' }]), ...Array.from({ length: 4 }, () => turn(['read_file', { path: 'README.md' }]))],
    },
    {
      match: { model: 'coder', fr: 'FR-023' },
      replies: Array.from({ length: MAX_STEPS + 2 }, (_, i) => turn(['write_file', { path: 'counter.txt', content: `${i + 1}\n` }])),
    },
  ],
};

/**
 * The coder loop against the real LLM gateway (its own process) replaying a scripted provider
 * file: the same path as a run with a vendor model, offline and deterministic.
 */
describe('the coder tool loop on the scripted provider, through the real gateway', () => {
  const h = new RunnerHarness();
  let rig: ScriptedGateway;
  let run: TempDir;
  let plan: ArtifactRefDto;

  beforeAll(async () => {
    rig = await startScriptedGateway(h, SCRIPT, 'scripted', (dir) => {
      const coder = join(dir, '20_agents', 'coder.md');
      writeFileSync(coder, readFileSync(coder, 'utf8').replace(/^max_steps: \d+$/m, `max_steps: ${MAX_STEPS}`));
    });
    ({ run, plan } = rig);
  });

  afterAll(async () => {
    await rig?.dispose();
  });

  const code = (frId: string, sagaId: string) => {
    const fr = h.fr(frId, `Scripted ${sagaId}`);
    return h.send(Messages.Code, {
      frId,
      sagaId,
      jobId: `job-${sagaId}`,
      step: 'code-r1',
      attempt: 1,
      payload: { fr, repo: h.repo(), strategy: h.strategy(), plan, round: 1, findings: [] },
    });
  };

  it('lands a multi-step change as one commit for the round (streamed through the gateway), its tests run in the sandbox', async () => {
    await code('FR-021', 's-multi');
    const coded = (await h.answer(Messages.Coded, 's-multi', 'code-r1', 1, 60_000)).payload;
    expect(coded).toMatchObject({ commits: 1, summary: 'Added farewell() and its test.' });
    const worktree = join(h.workDir.path, 'worktrees', 'job-s-multi');
    expect(git(worktree, 'log', '--format=%s', `${h.forge.baseSha}..HEAD`)).toBe('FR-021: Scripted s-multi');
    expect(readFileSync(join(worktree, 'src/farewell.js'), 'utf8')).toBe(FAREWELL_JS);
    const transcript = await h.artifactJson<{ entries: Array<{ name?: string; result?: string }> }>('FR-021/s-multi/code-r1-a1.transcript.json');
    const ran = transcript.entries.find((e) => e.name === 'run_command');
    expect(ran?.result).toMatch(/^exit code 0, /);
    expect(ran?.result).toContain('ℹ pass 2');
    // Every tool call and every sandbox command is a span of the step, named by OpenTelemetry's conventions.
    await expectEventually(() => {
      const spans = readFileSync(join(run.path, 'runner-spans.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { name: string; traceId: string; attributes: Record<string, unknown> });
      const step = spans.find((s) => s.name === 'process agency.cmd.agent-runner.code.v1' && s.attributes['agency.fr_id'] === 'FR-021')!;
      const mine = spans.filter((s) => s.traceId === step.traceId);
      expect(mine.filter((s) => s.name === 'execute_tool run_command').map((s) => s.attributes['gen_ai.tool.name'])).toEqual(['run_command']);
      expect(mine.some((s) => s.name === 'execute_tool write_file' && s.attributes['agency.tool.ok'] === true)).toBe(true);
      expect(mine.find((s) => s.name === 'exec node' || s.name === 'exec npm')?.attributes).toMatchObject({
        'process.exit.code': 0,
        'agency.sandbox.phase': 'agent',
      });
    });
  });

  it('warns a script that repeats the same action, then stops it and hands in the change made before', async () => {
    await code('FR-022', 's-loop');
    const coded = (await h.answer(Messages.Coded, 's-loop', 'code-r1', 1, 60_000)).payload;
    expect(coded.stopped?.code).toBe('REPEATED_ACTION');
    expect(coded.stopped?.reason).toContain('repeated the same action 4 times without changing anything (read_file {"path":"README.md"}), after a warning');
    const mirror = JSON.parse(readFileSync(join(h.workDir.path, 'jobs', 'job-s-loop.json'), 'utf8')) as { mirrorDir: string; branch: string };
    expect(git(mirror.mirrorDir, 'log', '-1', '--format=%s', mirror.branch)).toBe('FR-022: Scripted s-loop (unfinished: stopped repeating itself)');
    expect(git(mirror.mirrorDir, 'show', '--format=', '--name-only', mirror.branch)).toBe('NOTES.md');
  });

  it('stops a runaway script at the step limit and hands in its work, every checkpoint kept aside', async () => {
    await code('FR-023', 's-runaway');
    const coded = (await h.answer(Messages.Coded, 's-runaway', 'code-r1', 1, 60_000)).payload;
    expect(coded.stopped?.code).toBe('STEP_LIMIT');
    expect(coded.stopped?.reason).toContain(`the coder used all ${MAX_STEPS} steps`);
    const worktree = join(h.workDir.path, 'worktrees', 'job-s-runaway');
    expect(git(worktree, 'rev-list', '--count', `${h.forge.baseSha}..HEAD`)).toBe('1');
    const mirrorDir = (JSON.parse(readFileSync(join(h.workDir.path, 'jobs', 'job-s-runaway.json'), 'utf8')) as { mirrorDir: string }).mirrorDir;
    expect(git(mirrorDir, 'rev-list', '--count', `${h.forge.baseSha}..refs/agency/checkpoints/job-s-runaway/r1-a1`)).toBe(String(MAX_STEPS));
  });
});
