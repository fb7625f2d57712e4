import type { ArtifactRefDto, CodeCommand, Envelope, RepoTargetDto, WorkspaceRefDto } from '@agency/contracts';
import { sampleArtifact, sampleEnvelope, sampleFr, sampleWorkspace } from '@agency/contracts/testing';
import type { CallContext, ChatRequest, ChatResult, ChatToolsRequest, ChatToolsResult } from '@agency/llm-client';
import { PermanentError } from '@agency/messaging';
import type { AgentDefinition } from '@agency/vault';
import type { AgentRunnerConfig } from '../agent-runner.config.js';
import { UnsafePathError } from '../files/path-guard.js';
import type { ExportedWork, JobWorkspace } from '../git/workspace.service.js';
import type { SandboxExecOptions, SandboxOpenOptions, SandboxResult } from '../sandbox/sandbox.js';
import { stepFailureOf } from '../steps/step-failure.js';
import { baselineText, type BaselineResult, type BaselineTests } from '../environment/baseline-tests.js';
import { checkpointSubject, CoderService, commitSubject } from './coder.service.js';
import { roundCommitMessage } from './round-commit.js';

const ALL_TOOLS = ['list_files', 'read_file', 'search', 'write_file', 'edit_file', 'apply_patch', 'run_command'];
const coderAgent = (tools: string[] = []): AgentDefinition => ({
  role: 'coder',
  model: 'coder',
  maxSteps: 5,
  maxTokens: 8192,
  temperature: 0.2,
  tools,
  systemPrompt: 'You are the coder.',
  repairTurns: 2,
  condenseAfterChars: 60_000,
  repeatLimit: 3,
});
const storedPlan = { summary: 'Add greet()', steps: [{ title: 'Add it', files: ['src/greet.js'], detail: 'Hello' }], risks: [], meta: { frId: 'FR-1' } };
const answer = { summary: 'Added greet()', files: [{ path: 'src/greet.js', content: 'export const greet = (n) => `Hello, ${n}!`;\n' }] };

function toolTurn(calls: Array<[string, unknown]>, content = ''): ChatToolsResult {
  const toolCalls = calls.map(([name, args], i) => ({ id: `call_${i}`, name, arguments: JSON.stringify(args) }));
  return {
    content,
    model: 'fake/coder',
    inputTokens: 10,
    outputTokens: 5,
    toolCalls,
    finishReason: toolCalls.length ? 'tool_calls' : 'stop',
    message: { role: 'assistant', content: content || null },
  };
}

class FakeLlm {
  calls: Array<{ request: ChatRequest | ChatToolsRequest; ctx?: CallContext }> = [];
  constructor(
    private readonly reply: unknown,
    private readonly turns: ChatToolsResult[] = [],
  ) {}
  async chatJson<T>(request: ChatRequest, parse: (v: unknown) => T, ctx?: CallContext) {
    this.calls.push({ request, ...(ctx ? { ctx } : {}) });
    const result: ChatResult = { content: JSON.stringify(this.reply), model: 'm', inputTokens: 1, outputTokens: 1 };
    return { value: parse(this.reply), result, repaired: false, repairs: 0, fixes: [] };
  }
  async chatTools(request: ChatToolsRequest, ctx?: CallContext) {
    this.calls.push({ request, ...(ctx ? { ctx } : {}) });
    const next = this.turns.shift();
    if (!next) throw new Error('no scripted turn left');
    return next;
  }
}

class FakeWorkspaces {
  log: string[] = [];
  head = 'b'.repeat(40);
  changes = true;
  private n = 0;
  readonly ws: JobWorkspace = {
    jobId: 'job-1',
    dir: '/work/worktrees/job-1',
    branch: 'agency/FR-1-add-a-greeting',
    baseSha: 'b'.repeat(40),
    mirrorDir: '/work/mirrors/m.git',
    gitDir: '/work/mirrors/m.git/worktrees/job-1',
  };
  async openFresh(jobId: string, _repo: RepoTargetDto, branch: string) {
    this.log.push(`openFresh ${jobId} ${branch}`);
    return this.ws;
  }
  async openAt(jobId: string, _repo: RepoTargetDto, ref: WorkspaceRefDto) {
    this.log.push(`openAt ${jobId} ${ref.headSha}`);
    return this.ws;
  }
  async headOf() {
    return this.head;
  }
  async listFiles(dir: string, rev: string) {
    this.log.push(`listFiles ${dir} ${rev.slice(0, 4)}`);
    return [
      { path: 'src/greet.js', size: 40 },
      { path: 'package.json', size: 20 },
    ];
  }
  async commit(_ws: JobWorkspace, subject: string, body: string, paths?: readonly string[]) {
    this.log.push(`commit ${subject} | ${body.split('\n')[0]} | ${paths?.join(',')}`);
    if (!this.changes) return undefined;
    this.n += 1;
    this.head = String(this.n).repeat(40).slice(0, 40);
    return this.head;
  }
  async exportWork(): Promise<ExportedWork> {
    return {
      headSha: this.head,
      bundle: new Uint8Array([1, 2, 3]),
      diff: 'diff --git a/src/greet.js b/src/greet.js\n',
      filesChanged: ['src/greet.js'],
      commits: this.n,
    };
  }
  async diffSince() {
    return '';
  }
  async workingChanges() {
    return { tracked: [], untracked: [] };
  }
  async squashRound(_ws: JobWorkspace, from: string, keepAs: string, subject: string, body: string) {
    this.log.push(`squash ${from.slice(0, 4)} as ${keepAs}: ${subject} | ${body.replace(/\n/g, ' / ')}`);
    this.n = 1;
    this.head = 's'.repeat(40);
    return this.head;
  }
}

class FakeHandover {
  left: string[] = [];
  pokes = 0;
  resumeFrom?: { attempt: number; reason: string; commits: string[] };
  constructor(private readonly workspaces: FakeWorkspaces) {}
  async leave(_env: Envelope<CodeCommand>, _ws: JobWorkspace, roundStart: string, reason: string) {
    if ((await this.workspaces.headOf()) === roundStart) return false;
    this.left.push(reason);
    return true;
  }
  live(env: Envelope<CodeCommand>, ws: JobWorkspace, roundStart: string) {
    return {
      poke: () => (this.pokes += 1),
      finish: async () => undefined,
      leave: (reason: string) => this.leave(env, ws, roundStart, reason),
    };
  }
  async resume() {
    if (!this.resumeFrom) return undefined;
    this.workspaces.head = 'r'.repeat(40);
    return { ws: this.workspaces.ws, note: this.resumeFrom };
  }
}

class FakeFiles {
  written: Array<{ path: string; content: string }> = [];
  texts: Record<string, string> = { 'src/greet.js': 'old greet\n' };
  refuse?: string;
  check(_root: string, paths: readonly string[]) {
    for (const p of paths) if (p === this.refuse) throw new UnsafePathError(p, 'is a symlink pointing outside the repository');
  }
  async write(root: string, files: ReadonlyArray<{ path: string; content: string }>) {
    this.check(
      root,
      files.map((f) => f.path),
    );
    this.written.push(...files);
  }
  async readText(_root: string, path: string) {
    return this.texts[path];
  }
  async readForModel(_root: string, path: string) {
    return `content of ${path}`;
  }
  async edit() {
    return { replacements: 1 };
  }
  async list() {
    return { files: [{ path: 'src/greet.js', size: 40 }], more: 0 };
  }
}

class FakeArtifacts {
  puts: Array<{ key: string; contentType: string; size: number }> = [];
  json = new Map<string, Record<string, unknown>>();
  plan: unknown = storedPlan;
  async put(key: string, data: Uint8Array | string, contentType: string): Promise<ArtifactRefDto> {
    const size = typeof data === 'string' ? data.length : data.byteLength;
    this.puts.push({ key, contentType, size });
    return { key, size, sha256: 'e'.repeat(64), contentType };
  }
  async putJson(key: string, value: unknown): Promise<ArtifactRefDto> {
    this.json.set(key, value as Record<string, unknown>);
    return { key, size: 1, sha256: 'e'.repeat(64), contentType: 'application/json' };
  }
  async getJson<T>(ref: ArtifactRefDto): Promise<T> {
    if (ref.key !== 'FR-1/saga-1/plan.json') throw new Error(`unexpected ${ref.key}`);
    return this.plan as T;
  }
}

class FakeSandbox {
  /** Where commands run, as the backend says: the container's path, or the host worktree under SANDBOX=process. */
  workdir = '/workspace/repo';
  opened: SandboxOpenOptions[] = [];
  workdirFor(workspace: string) {
    return this.workdir === 'host' ? workspace : this.workdir;
  }
  commands: string[] = [];
  closed = 0;
  async open(options: SandboxOpenOptions) {
    this.opened.push(options);
    return {
      jobId: options.jobId,
      workdir: this.workdirFor(options.workspace),
      exec: async (o: SandboxExecOptions): Promise<SandboxResult> => {
        this.commands.push(o.command);
        return { exitCode: 0, timedOut: false, durationMs: 5, output: 'ℹ tests 1\nℹ pass 1\n', outputBytes: 18, truncated: false };
      },
      close: async () => void (this.closed += 1),
    };
  }
}

function setup(options: { tools?: string[]; reply?: unknown; turns?: ChatToolsResult[]; baseline?: Pick<BaselineTests, 'run' | 'known'> } = {}) {
  const llm = new FakeLlm(options.reply ?? answer, options.turns);
  const workspaces = new FakeWorkspaces();
  const files = new FakeFiles();
  const artifacts = new FakeArtifacts();
  const sandbox = new FakeSandbox();
  const git = { grep: async () => ({ lines: [], more: false }), applyPatch: async () => ({ reducedContext: false }) };
  const handover = new FakeHandover(workspaces);
  const config = { COMMAND_TIMEOUT_SECONDS: 60 } as AgentRunnerConfig;
  const service = new CoderService(
    { get: () => coderAgent(options.tools) },
    llm,
    workspaces,
    files,
    artifacts,
    git,
    sandbox,
    handover,
    config,
    undefined,
    undefined,
    options.baseline,
  );
  return { llm, workspaces, files, artifacts, sandbox, handover, service };
}

function codeEnv(patch: Partial<CodeCommand> = {}): Envelope<CodeCommand> {
  const env = sampleEnvelope('Code', { step: 'code-r1' });
  env.payload = { ...env.payload, ...patch };
  return env;
}

describe('CoderService, one-shot (an agent without tools)', () => {
  it('codes a first round on a fresh worktree and hands the work over as bundle, diff and transcript', async () => {
    const { service, llm, workspaces, files, artifacts } = setup();
    const coded = await service.code(codeEnv());

    expect(workspaces.log[0]).toBe('openFresh job-1 agency/FR-1-add-a-greeting');
    expect(workspaces.log[1]).toBe('listFiles /work/mirrors/m.git bbbb');
    expect(llm.calls).toHaveLength(1);
    expect(llm.calls[0]!.request).toMatchObject({ model: 'coder', maxTokens: 8192, temperature: 0.2 });
    expect(llm.calls[0]!.ctx).toEqual({ frId: 'FR-1', sagaId: 'saga-1', step: 'code-r1', jobId: 'job-1', frBudgetUsd: 5 });
    const prompt = String(llm.calls[0]!.request.messages[1]!.content);
    expect(prompt).toContain('# Plan\n\nAdd greet()');
    expect(prompt).toContain('## src/greet.js\n\n```\n1\told greet\n```');
    expect(prompt).toContain('Answer with one JSON object');
    expect(files.written).toEqual(answer.files);
    expect(workspaces.log[2]).toBe('commit FR-1: Added greet() | Added greet() | src/greet.js');
    expect(workspaces.log[3]).toBe(`squash bbbb as r1-a1: FR-1: ${sampleFr().title} | Added greet() /  / Agency-Saga: saga-1 / Agency-Step: code-r1`);
    expect(artifacts.puts).toEqual([
      { key: 'FR-1/saga-1/code-r1.bundle', contentType: 'application/x-git-bundle', size: 3 },
      { key: 'FR-1/saga-1/code-r1.diff', contentType: 'text/x-diff', size: 41 },
    ]);
    expect(artifacts.json.get('FR-1/saga-1/code-r1-a1.transcript.json')).toMatchObject({
      outcome: { ok: true, mode: 'answer' },
      totals: { modelCalls: 1, toolCalls: 0 },
    });
    expect(coded).toEqual({
      round: 1,
      workspace: {
        branch: 'agency/FR-1-add-a-greeting',
        baseSha: 'b'.repeat(40),
        headSha: 's'.repeat(40),
        bundle: { key: 'FR-1/saga-1/code-r1.bundle', size: 3, sha256: 'e'.repeat(64), contentType: 'application/x-git-bundle' },
      },
      diff: { key: 'FR-1/saga-1/code-r1.diff', size: 41, sha256: 'e'.repeat(64), contentType: 'text/x-diff' },
      filesChanged: ['src/greet.js'],
      commits: 1,
      summary: 'Added greet()',
    });
  });

  it('continues from the last round in a fix round, with findings and failing tests in the prompt', async () => {
    const { service, llm, workspaces } = setup();
    const finding = { file: 'src/greet.js', line: 1, severity: 'major' as const, message: 'Trim the name', blocking: true };
    await service.code(codeEnv({ round: 2, workspace: sampleWorkspace(), findings: [finding], testFailures: '# fail 1' }));
    expect(workspaces.log[0]).toBe(`openAt job-1 ${'c'.repeat(40)}`);
    const prompt = String(llm.calls[0]!.request.messages[1]!.content);
    expect(prompt).toContain('- [major, blocking] src/greet.js:1: Trim the name');
    expect(prompt).toContain('# fail 1');
  });

  it('repeats in a fix round what the runner found at the base: its tests and the installed tools (round 2 of a relay trial lost them)', async () => {
    const known: BaselineResult = {
      command: 'npm test',
      passed: true,
      exitCode: 0,
      timedOut: false,
      format: 'node',
      counts: { total: 3, passed: 3, failed: 0, skipped: 0 },
      tail: '',
      durationMs: 5,
      tools: ['tsc', 'vitest'],
    };
    const runs: string[] = [];
    const baseline = { run: async () => (runs.push('run'), known), known: () => known };
    const { service, llm } = setup({ baseline, tools: ALL_TOOLS, turns: [toolTurn([], JSON.stringify(answer))] });
    await service.code(codeEnv({ round: 2, workspace: sampleWorkspace(), findings: [], testFailures: '# fail 1' }));
    const prompt = String(llm.calls[0]!.request.messages[1]!.content);
    expect(prompt).toContain(baselineText(known));
    expect(prompt).toContain('Installed in node_modules/.bin (npx finds only these, offline): tsc, vitest.');
    // Nothing is run again for it.
    expect(runs).toEqual([]);
  });

  it('shows a long file the planner read whole, not as an outline the coder reads again (relay trial cookie-es)', async () => {
    const long = Array.from({ length: 150 }, (_, i) => `export const v${i} = ${i}; // ${'x'.repeat(30)}`).join('\n');
    const run = async (readFiles: string[] | undefined) => {
      const { service, llm, files, artifacts } = setup();
      files.texts['src/greet.js'] = long;
      artifacts.plan = { ...storedPlan, meta: { frId: 'FR-1', ...(readFiles ? { readFiles } : {}) } };
      await service.code(codeEnv());
      return String(llm.calls[0]!.request.messages[1]!.content);
    };
    const read = await run(['src/greet.js']);
    expect(read).toContain(`149\texport const v148 = 148;`);
    expect(read).not.toContain('[outline: 150 lines');
    expect(await run(undefined)).toContain('[outline: 150 lines');
  });

  it('fails the step with EMPTY_CHANGE when the answer changes nothing', async () => {
    const { service, workspaces, artifacts } = setup();
    workspaces.changes = false;
    const error = await service.code(codeEnv()).catch((e: unknown) => e);
    expect(stepFailureOf(error)).toEqual({
      code: 'EMPTY_CHANGE',
      reason: "round 1: the coder's answer changed nothing; its 1 file(s) (src/greet.js) already had that content",
      retryable: false,
    });
    expect(artifacts.puts).toEqual([]);
    // The transcript is kept even for a failed step.
    expect(artifacts.json.get('FR-1/saga-1/code-r1-a1.transcript.json')).toMatchObject({ outcome: { ok: false } });
  });

  it('hands in the resumed work when the answer repeats what an earlier attempt already committed (chaos: a re-drive after a kill failed with EMPTY_CHANGE)', async () => {
    const { service, workspaces, handover } = setup();
    handover.resumeFrom = { attempt: 1, reason: 'its runner stopped in the middle of it', commits: ['FR-1: Add greet'] };
    workspaces.changes = false;
    const env = codeEnv();
    env.attempt = 2;
    const coded = await service.code(env);
    expect(coded).toMatchObject({ summary: expect.any(String) });
    // The earlier attempt's commits, from the round's start, become the round's commit.
    expect(workspaces.log.filter((l) => l.startsWith('squash'))[0]).toMatch(/^squash bbbb as r1-a2: /);
  });

  it('refuses an answer writing through a symlink out of the worktree, before writing anything', async () => {
    const { service, files } = setup({
      reply: {
        summary: 'x',
        files: [
          { path: 'ok.js', content: '' },
          { path: 'link/evil.js', content: '' },
        ],
      },
    });
    files.refuse = 'link/evil.js';
    await expect(service.code(codeEnv())).rejects.toThrow('files[1].path: path "link/evil.js" is a symlink pointing outside the repository');
    expect(files.written).toEqual([]);
  });

  it('treats a plan artifact that is not a plan as permanent', async () => {
    const { service, artifacts } = setup();
    artifacts.plan = { hello: 'world' };
    const env = codeEnv({ plan: sampleArtifact('FR-1/saga-1/plan.json') });
    await expect(service.code(env)).rejects.toThrow(PermanentError);
    await expect(service.code(env)).rejects.toThrow('plan artifact FR-1/saga-1/plan.json is not a plan: summary must be a string');
  });
});

describe('CoderService, tool loop (an agent with tools)', () => {
  it("names the directory the sandbox's commands really run in: the container's, or the host worktree under SANDBOX=process", async () => {
    const finish = () => [toolTurn([['finish', { summary: 'done' }]])];
    const docker = setup({ tools: ALL_TOOLS, turns: finish() });
    await docker.service.code(codeEnv()).catch(() => undefined);
    expect(String((docker.llm.calls[0]!.request as ChatToolsRequest).messages[1]!.content)).toContain(
      "the sandbox's working directory /workspace/repo is the repository",
    );
    const processBackend = setup({ tools: ALL_TOOLS, turns: finish() });
    processBackend.sandbox.workdir = 'host';
    await processBackend.service.code(codeEnv()).catch(() => undefined);
    const text = String((processBackend.llm.calls[0]!.request as ChatToolsRequest).messages[1]!.content);
    expect(text).toContain("the sandbox's working directory /work/worktrees/job-1 is the repository");
    expect(text).not.toContain('/workspace/repo');
  });

  it('commits after every change, runs commands in one sandbox session, and reports the finish summary', async () => {
    const turns = [
      toolTurn([['read_file', { path: 'src/greet.js' }]]),
      toolTurn([['write_file', { path: 'src/greet.js', content: 'new\n' }]]),
      toolTurn([
        ['run_command', { command: 'node --test' }],
        ['write_file', { path: 'test/greet.test.js', content: 't\n' }],
      ]),
      toolTurn([['run_command', { command: 'node --test' }]]),
      toolTurn([['finish', { summary: 'Greets politely now.' }]]),
    ];
    const { service, llm, workspaces, sandbox, artifacts, handover } = setup({ tools: ALL_TOOLS, turns });
    const coded = await service.code(codeEnv());

    // Each checkpoint is offered for handover (the handover throttles), so a killed runner's work survives it.
    expect(handover.pokes).toBe(2);
    const request = llm.calls[0]!.request as ChatToolsRequest;
    expect(request.tools.map((t) => t.name)).toEqual([...ALL_TOOLS, 'finish']);
    expect(String(request.messages[1]!.content)).toContain('call finish with a short summary');
    expect(workspaces.log.filter((l) => l.startsWith('commit'))).toEqual([
      `commit ${checkpointSubject('FR-1', 'write_file src/greet.js', 1, 2)} | Checkpoint of the coder's tool loop. | src/greet.js`,
      `commit ${checkpointSubject('FR-1', 'write_file test/greet.test.js', 1, 3)} | Checkpoint of the coder's tool loop. | test/greet.test.js`,
    ]);
    expect(sandbox.opened).toEqual([{ workspace: '/work/worktrees/job-1', jobId: 'job-1', repo: 'example/greeter' }]);
    expect(sandbox.commands).toEqual(['node --test', 'node --test']);
    expect(sandbox.closed).toBe(1);
    // The round's two checkpoints become one commit named after the FR; the checkpoints are kept on a side ref.
    expect(workspaces.log.filter((l) => l.startsWith('squash'))).toEqual([
      `squash bbbb as r1-a1: FR-1: ${sampleFr().title} | Greets politely now. /  / Agency-Saga: saga-1 / Agency-Step: code-r1`,
    ]);
    expect(coded).toMatchObject({ commits: 1, summary: 'Greets politely now.' });
    expect(coded).not.toHaveProperty('stopped');
    // The model saw each tool's result, tied to its call (the fake keeps the conversation by reference: finish's result is in it too).
    const last = (llm.calls[4]!.request as ChatToolsRequest).messages;
    expect(last.filter((m) => m.role === 'tool').map((m) => String(m.content).split('\n')[0])).toEqual([
      'src/greet.js (1 line)',
      'wrote src/greet.js (4 bytes)',
      'exit code 0, 0.0 s',
      'wrote test/greet.test.js (2 bytes)',
      'exit code 0, 0.0 s',
      'finished',
    ]);
    const transcript = artifacts.json.get('FR-1/saga-1/code-r1-a1.transcript.json')!;
    expect(transcript).toMatchObject({ outcome: { ok: true, mode: 'tools', steps: 5, commits: 2 }, totals: { modelCalls: 5, toolCalls: 6 } });
  });

  it('accepts the one-shot JSON answer as a first turn', async () => {
    const { service, workspaces, files } = setup({ tools: ALL_TOOLS, turns: [toolTurn([], JSON.stringify(answer))] });
    const coded = await service.code(codeEnv());
    expect(files.written).toEqual(answer.files);
    expect(workspaces.log.filter((l) => l.startsWith('commit'))).toEqual(['commit FR-1: Added greet() | Added greet() | src/greet.js']);
    expect(coded).toMatchObject({ commits: 1, summary: 'Added greet()' });
  });

  it('fails with EMPTY_CHANGE when the model finishes without changing anything', async () => {
    const { service } = setup({ tools: ALL_TOOLS, turns: [toolTurn([['finish', { summary: 'Nothing to do.' }]])] });
    const failure = stepFailureOf(await service.code(codeEnv()).catch((e: unknown) => e));
    expect(failure).toMatchObject({ code: 'EMPTY_CHANGE' });
    expect(failure!.reason).toContain('without changing any file ("Nothing to do.")');
  });

  it('fails a model repeating itself with nothing committed, after warning it once', async () => {
    const again = () => toolTurn([['run_command', { command: 'ls' }]]);
    const { service, sandbox, artifacts, llm } = setup({ tools: ALL_TOOLS, turns: [again(), again(), again(), again()] });
    const failure = stepFailureOf(await service.code(codeEnv()).catch((e: unknown) => e));
    expect(failure).toMatchObject({ code: 'REPEATED_ACTION', retryable: false });
    expect(failure!.reason).toContain('repeated the same action 4 times without changing anything (run_command {"command":"ls"}), after a warning');
    expect(failure!.reason).toContain('nothing was committed');
    expect(sandbox.commands).toEqual(['ls', 'ls']);
    const warned = (llm.calls[3]!.request as ChatToolsRequest).messages.filter((m) => m.role === 'tool').map((m) => String(m.content));
    expect(warned[2]).toMatch(/^not run: you have called run_command with these same arguments 3 times/);
    expect(sandbox.closed).toBe(1);
    expect(artifacts.json.get('FR-1/saga-1/code-r1-a1.transcript.json')).toMatchObject({ outcome: { ok: false } });
  });

  it('hands in what it committed when the loop stops early, saying why', async () => {
    const turns = [
      toolTurn([['write_file', { path: 'src/greet.js', content: 'half\n' }]], 'Starting on it.'),
      ...Array.from({ length: 4 }, (_, i) => toolTurn([['read_file', { path: 'src/greet.js', start_line: i + 1 }]])),
    ];
    const { service, workspaces } = setup({ tools: ALL_TOOLS, turns });
    const coded = await service.code(codeEnv());
    expect(coded.stopped).toEqual({ code: 'STEP_LIMIT', reason: 'the coder used all 5 steps (max_steps of the coder agent) without calling finish' });
    expect(coded.summary).toBe('the coder used all 5 steps (max_steps of the coder agent) without calling finish. The coder\'s last words: "Starting on it."');
    expect(workspaces.log.filter((l) => l.startsWith('squash'))[0]).toMatch(
      /^squash bbbb as r1-a1: FR-1: .* \(unfinished: stopped at the step limit\) \| .*Unfinished: the coder used all 5 steps/,
    );
  });

  it('leaves its commits for the next attempt when it fails after committing, and the next attempt resumes from them', async () => {
    const turns = [toolTurn([['write_file', { path: 'src/greet.js', content: 'half\n' }]])];
    const first = setup({ tools: ALL_TOOLS, turns });
    await expect(first.service.code(codeEnv())).rejects.toThrow('no scripted turn left');
    expect(first.handover.left).toEqual(['no scripted turn left']);

    const second = setup({ tools: ALL_TOOLS, turns: [toolTurn([['finish', { summary: 'Finished the rest.' }]])] });
    second.handover.resumeFrom = { attempt: 1, reason: 'the model call timed out', commits: ['FR-1: write_file src/greet.js (round 1, step 1)'] };
    const env = codeEnv();
    env.attempt = 2;
    const coded = await second.service.code(env);
    const prompt = String(second.llm.calls[0]!.request.messages[1]!.content);
    expect(prompt).toContain('# Resuming\n\nAttempt 1 of this round stopped (the model call timed out) after these commits, which are kept');
    expect(prompt).toContain('- FR-1: write_file src/greet.js (round 1, step 1)');
    // The commits since the round's start (the base) are squashed, the resumed ones included.
    expect(second.workspaces.log.filter((l) => l.startsWith('squash'))[0]).toMatch(/^squash bbbb as r1-a2: /);
    expect(coded).toMatchObject({ summary: 'Finished the rest.' });
  });

  it("passes the job's abort signal with every model call", async () => {
    const { service, llm } = setup({
      tools: ALL_TOOLS,
      turns: [toolTurn([['write_file', { path: 'a.js', content: 'x' }]]), toolTurn([['finish', { summary: 'ok' }]])],
    });
    const controller = new AbortController();
    await service.code(codeEnv(), undefined, controller.signal);
    expect(llm.calls.map((c) => c.ctx?.signal)).toEqual([controller.signal, controller.signal]);
  });
});

describe('commitSubject', () => {
  it('uses the first line of the summary, capped, with the round', () => {
    expect(commitSubject('FR-9', '\nFixed it.\nMore detail', 3)).toBe('FR-9: Fixed it. (round 3)');
    expect(commitSubject('FR-9', 'x'.repeat(150), 1)).toBe(`FR-9: ${'x'.repeat(99)}… (round 1)`);
    expect(checkpointSubject('FR-9', 'write_file src/a.js', 2, 7)).toBe('FR-9: write_file src/a.js (round 2, step 7)');
  });
});

describe('roundCommitMessage', () => {
  const base = { frId: 'FR-131', sagaId: 'FR-131-r1', step: 'code-r2', summary: 'Guarded hasOwnProperty against shadowing.\n\nDetails.' };

  it('cuts a long subject at a word, and says the whole of it at the top of the body', () => {
    const title = 'Handle Object.assign within class constructors when cloning class instances with klona';
    const m = roundCommitMessage({ ...base, frTitle: title, round: 1 });
    expect(m.subject.length).toBeLessThanOrEqual(72);
    expect(m.subject).toBe('FR-131: Handle Object.assign within class constructors when cloning…');
    expect(m.body.startsWith(`${title}\n\nGuarded hasOwnProperty`)).toBe(true);
  });

  it('names a fix round after what it fixed, and leaves a short subject and its body as they are', () => {
    const m = roundCommitMessage({ ...base, frTitle: 'Support petabytes', round: 2 });
    expect(m.subject).toBe('FR-131: Guarded hasOwnProperty against shadowing. (round 2)');
    expect(m.body.startsWith('Guarded hasOwnProperty against shadowing.')).toBe(true);
    expect(m.body).toContain('Agency-Saga: FR-131-r1\nAgency-Step: code-r2');
  });

  it("drops the summary's own round label from a fix round's subject, which says the round itself (relay trial rou3)", () => {
    for (const label of ['Round 2: ', 'Round 2 - ', 'round 2 — ', 'R2: ']) {
      const m = roundCommitMessage({ ...base, summary: `${label}the fallback considers the last segment.\n\nDetails.`, frTitle: 'Last segment', round: 2 });
      expect(m.subject).toBe('FR-131: the fallback considers the last segment. (round 2)');
      // The body is the coder's summary without the label, once.
      expect(m.body.startsWith('the fallback considers the last segment.\n\nDetails.')).toBe(true);
    }
    // A long first line cut in the subject is not said twice in the body (rou3 re-run).
    const long = 'The end-of-path fallback now considers a method-less wildcard route before a named one, in find.ts';
    const cut = roundCommitMessage({ ...base, summary: `Round 2: ${long}\n\nDetails.`, frTitle: 'Last segment', round: 2 });
    expect(cut.subject.endsWith('… (round 2)')).toBe(true);
    expect(cut.body.split(long)).toHaveLength(2);
    expect(cut.body.startsWith(long)).toBe(true);
    expect(commitSubject('FR-9', 'Round 3: Fixed it.', 3)).toBe('FR-9: Fixed it. (round 3)');
  });
});
