import type { ArtifactRefDto, CodeCommand, Envelope, RepoTargetDto, WorkspaceRefDto } from '@agency/contracts';
import { sampleArtifact, sampleEnvelope, sampleWorkspace } from '@agency/contracts/testing';
import type { CallContext, ChatRequest, ChatResult } from '@agency/llm-client';
import { PermanentError } from '@agency/messaging';
import type { AgentDefinition } from '@agency/vault';
import { UnsafePathError } from '../files/path-guard.js';
import type { ExportedWork, JobWorkspace } from '../git/workspace.service.js';
import { stepFailureOf } from '../steps/step-failure.js';
import { CoderService, commitSubject } from './coder.service.js';

const coder: AgentDefinition = { role: 'coder', model: 'coder', maxSteps: 30, maxTokens: 8192, temperature: 0.2, tools: [], systemPrompt: 'You are the coder.' };
const storedPlan = { summary: 'Add greet()', steps: [{ title: 'Add it', files: ['src/greet.js'], detail: 'Hello' }], risks: [], meta: { frId: 'FR-1' } };
const answer = { summary: 'Added greet()', files: [{ path: 'src/greet.js', content: 'export const greet = (n) => `Hello, ${n}!`;\n' }] };

class FakeLlm {
  calls: Array<{ request: ChatRequest; ctx?: CallContext }> = [];
  constructor(private readonly reply: unknown) {}
  async chatJson<T>(request: ChatRequest, parse: (v: unknown) => T, ctx?: CallContext) {
    this.calls.push({ request, ...(ctx ? { ctx } : {}) });
    const result: ChatResult = { content: JSON.stringify(this.reply), model: 'm', inputTokens: 1, outputTokens: 1 };
    return { value: parse(this.reply), result, repaired: false };
  }
}

class FakeWorkspaces {
  log: string[] = [];
  headSha: string | undefined = 'd'.repeat(40);
  readonly ws: JobWorkspace = { jobId: 'job-1', dir: '/work/worktrees/job-1', branch: 'agency/FR-1-add-a-greeting', baseSha: 'b'.repeat(40), mirrorDir: '/work/mirrors/m.git' };
  async openFresh(jobId: string, _repo: RepoTargetDto, branch: string) {
    this.log.push(`openFresh ${jobId} ${branch}`);
    return this.ws;
  }
  async openAt(jobId: string, _repo: RepoTargetDto, ref: WorkspaceRefDto) {
    this.log.push(`openAt ${jobId} ${ref.headSha}`);
    return this.ws;
  }
  async listFiles() {
    return [{ path: 'src/greet.js', size: 40 }, { path: 'package.json', size: 20 }];
  }
  async commit(_ws: JobWorkspace, subject: string, body: string) {
    this.log.push(`commit ${subject} | ${body.split('\n')[0]}`);
    return this.headSha;
  }
  async exportWork(): Promise<ExportedWork> {
    return { headSha: 'd'.repeat(40), bundle: new Uint8Array([1, 2, 3]), diff: 'diff --git a/src/greet.js b/src/greet.js\n', filesChanged: ['src/greet.js'], commits: 1 };
  }
}

class FakeFiles {
  written: Array<{ path: string; content: string }> = [];
  refuse?: string;
  check(_root: string, paths: readonly string[]) {
    for (const p of paths) if (p === this.refuse) throw new UnsafePathError(p, 'is a symlink pointing outside the repository');
  }
  async write(_root: string, files: ReadonlyArray<{ path: string; content: string }>) {
    this.written.push(...files);
  }
  async readText(_root: string, path: string) {
    return path === 'src/greet.js' ? 'old greet\n' : undefined;
  }
}

class FakeArtifacts {
  puts: Array<{ key: string; contentType: string; size: number }> = [];
  plan: unknown = storedPlan;
  async put(key: string, data: Uint8Array | string, contentType: string): Promise<ArtifactRefDto> {
    const size = typeof data === 'string' ? data.length : data.byteLength;
    this.puts.push({ key, contentType, size });
    return { key, size, sha256: 'e'.repeat(64), contentType };
  }
  async getJson<T>(ref: ArtifactRefDto): Promise<T> {
    if (ref.key !== 'FR-1/saga-1/plan.json') throw new Error(`unexpected ${ref.key}`);
    return this.plan as T;
  }
}

function setup(reply: unknown = answer) {
  const llm = new FakeLlm(reply);
  const workspaces = new FakeWorkspaces();
  const files = new FakeFiles();
  const artifacts = new FakeArtifacts();
  const service = new CoderService({ get: () => coder }, llm, workspaces, files, artifacts);
  return { llm, workspaces, files, artifacts, service };
}

function codeEnv(patch: Partial<CodeCommand> = {}): Envelope<CodeCommand> {
  const env = sampleEnvelope('Code', { step: 'code-r1' });
  env.payload = { ...env.payload, ...patch };
  return env;
}

describe('CoderService', () => {
  it('codes a first round on a fresh worktree and hands the work over as bundle and diff', async () => {
    const { service, llm, workspaces, files, artifacts } = setup();
    const coded = await service.code(codeEnv());

    expect(workspaces.log[0]).toBe('openFresh job-1 agency/FR-1-add-a-greeting');
    expect(llm.calls).toHaveLength(1);
    expect(llm.calls[0]!.request).toMatchObject({ model: 'coder', maxTokens: 8192, temperature: 0.2 });
    expect(llm.calls[0]!.ctx).toEqual({ frId: 'FR-1', sagaId: 'saga-1', step: 'code-r1', jobId: 'job-1' });
    const prompt = String(llm.calls[0]!.request.messages[1]!.content);
    expect(prompt).toContain('# Plan\n\nAdd greet()');
    expect(prompt).toContain('## src/greet.js\n\n```\nold greet\n```');
    expect(files.written).toEqual(answer.files);
    expect(workspaces.log[1]).toBe('commit FR-1: Added greet() (round 1) | Added greet()');
    expect(artifacts.puts).toEqual([
      { key: 'FR-1/saga-1/code-r1.bundle', contentType: 'application/x-git-bundle', size: 3 },
      { key: 'FR-1/saga-1/code-r1.diff', contentType: 'text/x-diff', size: 41 },
    ]);
    expect(coded).toEqual({
      round: 1,
      workspace: { branch: 'agency/FR-1-add-a-greeting', baseSha: 'b'.repeat(40), headSha: 'd'.repeat(40), bundle: { key: 'FR-1/saga-1/code-r1.bundle', size: 3, sha256: 'e'.repeat(64), contentType: 'application/x-git-bundle' } },
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

  it('fails the step with EMPTY_CHANGE when the answer changes nothing', async () => {
    const { service, workspaces, artifacts } = setup();
    workspaces.headSha = undefined;
    const error = await service.code(codeEnv()).catch((e: unknown) => e);
    expect(stepFailureOf(error)).toEqual({ code: 'EMPTY_CHANGE', reason: "round 1: the coder's answer changed nothing; its 1 file(s) (src/greet.js) already had that content", retryable: false });
    expect(artifacts.puts).toEqual([]);
  });

  it('refuses an answer writing through a symlink out of the worktree, before writing anything', async () => {
    const { service, files } = setup({ summary: 'x', files: [{ path: 'ok.js', content: '' }, { path: 'link/evil.js', content: '' }] });
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

describe('commitSubject', () => {
  it('uses the first line of the summary, capped, with the round', () => {
    expect(commitSubject('FR-9', '\nFixed it.\nMore detail', 3)).toBe('FR-9: Fixed it. (round 3)');
    expect(commitSubject('FR-9', 'x'.repeat(150), 1)).toBe(`FR-9: ${'x'.repeat(97)}... (round 1)`);
  });
});
