import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Messages, type ArtifactRefDto } from '@agency/contracts';
import { expectEventually, type TempDir } from '@agency/testing';
import { git } from './support/greeter-forge.js';
import { RunnerHarness } from './support/runner-harness.js';
import { startScriptedGateway, turn, type ScriptedGateway } from './support/scripted-gateway.js';
import { FAREWELL_JS } from './support/scripts.js';

// A model used to other tool names (relay trial citty: `bash` cost a turn), then one that is no tool at all.
const SCRIPT = {
  version: 1,
  rules: [
    {
      match: { model: 'coder', fr: 'FR-031' },
      replies: [
        turn(['bash', { command: 'node --test' }]),
        turn(['terminal_v2', { command: 'ls' }]),
        turn(['create_file', { path: 'src/farewell.js', content: FAREWELL_JS }]),
        turn(['finish', { summary: 'Added farewell().' }]),
      ],
    },
  ],
};

interface TranscriptEntry {
  name?: string;
  result?: string;
  ok?: boolean;
}

/** Tool names of other families through the whole coder step: the real gateway replaying a script, the runner, the sandbox, git. */
describe('a coder calling tools by other names, through the real gateway', () => {
  const h = new RunnerHarness();
  let rig: ScriptedGateway;
  let run: TempDir;
  let plan: ArtifactRefDto;

  beforeAll(async () => {
    rig = await startScriptedGateway(h, SCRIPT, 'aliases');
    ({ run, plan } = rig);
  });

  afterAll(async () => {
    await rig?.dispose();
  });

  it('runs bash as run_command and create_file as write_file with a note, refuses a name no tool has, and traces the names asked', async () => {
    await h.send(Messages.Code, {
      frId: 'FR-031',
      sagaId: 's-alias',
      jobId: 'job-s-alias',
      step: 'code-r1',
      attempt: 1,
      payload: { fr: h.fr('FR-031', 'Scripted s-alias'), repo: h.repo(), strategy: h.strategy(), plan, round: 1, findings: [] },
    });
    const coded = (await h.answer(Messages.Coded, 's-alias', 'code-r1', 1, 60_000)).payload;
    expect(coded).toMatchObject({ commits: 1, summary: 'Added farewell().' });
    const worktree = join(h.workDir.path, 'worktrees', 'job-s-alias');
    expect(readFileSync(join(worktree, 'src/farewell.js'), 'utf8')).toBe(FAREWELL_JS);
    expect(git(worktree, 'show', '--format=', '--name-only', 'HEAD')).toBe('src/farewell.js');

    const { entries } = await h.artifactJson<{ entries: TranscriptEntry[] }>('FR-031/s-alias/code-r1-a1.transcript.json');
    const byName = (name: string) => entries.find((e) => e.name === name);
    expect(byName('bash')?.result).toMatch(/^\[ran as run_command; the tool is called run_command\]\nexit code \d+, /);
    expect(byName('terminal_v2')).toMatchObject({
      ok: false,
      result: expect.stringMatching(/^error: there is no tool "terminal_v2"; use one of: .*run_command.*, finish$/),
    });
    expect(byName('create_file')?.result).toBe(
      `[ran as write_file; the tool is called write_file]\nwrote src/farewell.js (${Buffer.byteLength(FAREWELL_JS)} bytes)`,
    );

    await expectEventually(() => {
      const spans = readFileSync(join(run.path, 'runner-spans.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { name: string; traceId: string; attributes: Record<string, unknown> });
      const step = spans.find((s) => s.name === 'process agency.cmd.agent-runner.code.v1' && s.attributes['agency.fr_id'] === 'FR-031')!;
      const tools = spans.filter((s) => s.traceId === step.traceId && s.attributes['gen_ai.operation.name'] === 'execute_tool');
      expect(tools.map((s) => [s.name, s.attributes['agency.tool.asked_name'], s.attributes['agency.tool.ok']])).toEqual(
        expect.arrayContaining([
          ['execute_tool run_command', 'bash', expect.any(Boolean)],
          ['execute_tool terminal_v2', 'terminal_v2', false],
          ['execute_tool write_file', 'create_file', true],
          ['execute_tool finish', undefined, true],
        ]),
      );
    });
  });
});
