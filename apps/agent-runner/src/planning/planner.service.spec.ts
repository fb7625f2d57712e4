import type { RepoStatsRecord, RepoTargetDto } from '@agency/contracts';
import { sampleEnvelope } from '@agency/contracts/testing';
import type { CallContext, ChatRequest, ChatToolsRequest, ChatToolsResult } from '@agency/llm-client';
import { Clock } from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import type { AgentDefinition } from '@agency/vault';
import { PlannerService } from './planner.service.js';

const planner: AgentDefinition = {
  role: 'planner',
  model: 'planner',
  maxSteps: 1,
  maxTokens: 2048,
  temperature: 0,
  tools: [],
  systemPrompt: 'Plan it.',
  repairTurns: 2,
  condenseAfterChars: 60_000,
  repeatLimit: 3,
};
const plan = {
  summary: 'Add farewell()',
  steps: [
    { title: 'Add', files: ['src/farewell.js'], detail: 'd' },
    { title: 'Test', files: ['test/farewell.test.js'], detail: '' },
  ],
  risks: [],
};

const notCalled = async (): Promise<never> => {
  throw new Error('not expected in this test');
};
const noGit = { runCapped: notCalled };

class FakeRepoStats {
  readonly recorded: Array<{ repo: string; stats: RepoStatsRecord }> = [];
  failWith?: Error;
  async record(repo: string, stats: RepoStatsRecord): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.recorded.push({ repo, stats });
  }
}

/** A silent logger whose warnings the test reads. */
function fakeLogger() {
  const warnings: Array<{ fields: unknown; message: string }> = [];
  const logger = createLogger({ service: 'test', level: 'silent' });
  logger.warn = ((fields: unknown, message: string) => void warnings.push({ fields, message })) as typeof logger.warn;
  return Object.assign(logger, { warnings });
}

function fixtures() {
  const llm = {
    async chatJson<T>(_request: ChatRequest, parse: (v: unknown) => T) {
      return {
        value: parse(plan),
        result: { content: '', model: 'scripted/planner', inputTokens: 1, outputTokens: 1 },
        repaired: false,
        repairs: 0,
        fixes: [],
      };
    },
    chatTools: notCalled,
  };
  const workspaces = {
    baseOf: async () => ({ mirrorDir: '/m.git', baseSha: 'c'.repeat(40) }),
    listFiles: async () => [
      { path: 'src/greet.js', size: 98 },
      { path: 'README.md', size: 1000 },
      { path: 'package.json', size: 2 },
    ],
  };
  const artifacts = { putJson: async (key: string) => ({ key, size: 10, sha256: 'a'.repeat(64), contentType: 'application/json' }) };
  const clock = new Clock();
  clock.now = () => new Date('2026-01-02T03:04:05.000Z');
  const repoStats = new FakeRepoStats();
  const logger = fakeLogger();
  const service = new PlannerService({ get: () => planner }, llm, workspaces, artifacts, clock, repoStats, logger, { read: async () => [] }, noGit);
  return { service, repoStats, logger };
}

describe('PlannerService', () => {
  it('plans from the repository at the base and stores plan.json with its provenance', async () => {
    const calls: Array<{ request: ChatRequest; ctx?: CallContext }> = [];
    const llm = {
      async chatJson<T>(request: ChatRequest, parse: (v: unknown) => T, ctx?: CallContext) {
        calls.push({ request, ...(ctx ? { ctx } : {}) });
        return {
          value: parse(plan),
          result: { content: '', model: 'scripted/planner', inputTokens: 1, outputTokens: 1 },
          repaired: false,
          repairs: 0,
          fixes: [],
        };
      },
      chatTools: notCalled,
    };
    const seen: string[] = [];
    const workspaces = {
      async baseOf(repo: RepoTargetDto) {
        seen.push(`baseOf ${repo.name}`);
        return { mirrorDir: '/m.git', baseSha: 'b'.repeat(40) };
      },
      async listFiles(dir: string, rev: string) {
        seen.push(`listFiles ${dir} ${rev}`);
        return [{ path: 'src/greet.js', size: 98 }];
      },
    };
    const stored: Array<{ key: string; value: unknown }> = [];
    const artifacts = {
      async putJson(key: string, value: unknown) {
        stored.push({ key, value });
        return { key, size: 10, sha256: 'a'.repeat(64), contentType: 'application/json' };
      },
    };
    const clock = new Clock();
    clock.now = () => new Date('2026-01-02T03:04:05.000Z');
    const env = sampleEnvelope('Plan');
    env.payload.strategy.plannerModel = 'big-planner';

    const instructions = [{ path: 'AGENTS.md', content: 'Keep functions pure.' }];
    const read: string[] = [];
    const reader = {
      async read(dir: string, sha: string, tree: ReadonlyArray<{ path: string }>) {
        read.push(`${dir} ${sha.slice(0, 4)} ${tree.length}`);
        return instructions;
      },
    };
    const signal = new AbortController().signal;
    const planned = await new PlannerService({ get: () => planner }, llm, workspaces, artifacts, clock, new FakeRepoStats(), fakeLogger(), reader, noGit).plan(
      env,
      signal,
    );

    expect(seen).toEqual(['baseOf example/greeter', `listFiles /m.git ${'b'.repeat(40)}`]);
    expect(calls[0]!.request).toMatchObject({ model: 'big-planner', maxTokens: 2048, temperature: 0 });
    expect(calls[0]!.ctx).toEqual({ frId: 'FR-1', sagaId: 'saga-1', step: 'plan', jobId: 'job-1', frBudgetUsd: 5, signal });
    expect(String(calls[0]!.request.messages[1]!.content)).toContain('src/greet.js (98 B)');
    // The repository's instructions for agents, read at the base, go into the prompt and the plan artifact.
    expect(read).toEqual(['/m.git bbbb 1']);
    expect(String(calls[0]!.request.messages[1]!.content)).toContain('## AGENTS.md\n\n```\nKeep functions pure.\n```');
    expect(stored).toEqual([
      {
        key: 'FR-1/saga-1/plan.json',
        value: {
          ...plan,
          instructions,
          meta: {
            frId: 'FR-1',
            sagaId: 'saga-1',
            repo: 'example/greeter',
            base: 'main',
            baseSha: 'b'.repeat(40),
            model: 'scripted/planner',
            createdAt: '2026-01-02T03:04:05.000Z',
          },
        },
      },
    ]);
    expect(planned).toEqual({
      plan: { key: 'FR-1/saga-1/plan.json', size: 10, sha256: 'a'.repeat(64), contentType: 'application/json' },
      summary: 'Add farewell()',
      stepCount: 2,
    });
  });

  it("keeps what was read in another shape in the plan's meta, not in the plan", async () => {
    const stored: unknown[] = [];
    const llm = {
      async chatJson<T>(_request: ChatRequest, parse: (v: unknown) => T) {
        const value = parse({ ...plan, steps: [{ title: 'Add', files: 'src/farewell.js', detail: 'd' }] });
        return { value, result: { content: '', model: 'scripted/planner', inputTokens: 1, outputTokens: 1 }, repaired: false, repairs: 0, fixes: [] };
      },
      chatTools: notCalled,
    };
    const workspaces = { baseOf: async () => ({ mirrorDir: '/m.git', baseSha: 'c'.repeat(40) }), listFiles: async () => [] };
    const artifacts = {
      async putJson(key: string, value: unknown) {
        stored.push(value);
        return { key, size: 10, sha256: 'a'.repeat(64), contentType: 'application/json' };
      },
    };
    const service = new PlannerService(
      { get: () => planner },
      llm,
      workspaces,
      artifacts,
      new Clock(),
      new FakeRepoStats(),
      fakeLogger(),
      { read: async () => [] },
      noGit,
    );

    await service.plan(sampleEnvelope('Plan'));

    expect(stored[0]).toMatchObject({
      steps: [{ title: 'Add', files: ['src/farewell.js'], detail: 'd' }],
      meta: { answerReadAs: ['steps[0].files given as a string "src/farewell.js"'] },
    });
    expect(stored[0]).not.toHaveProperty('readAs');
  });

  it('records the repository size it listed at the base commit, for the router', async () => {
    const { service, repoStats, logger } = fixtures();

    await service.plan(sampleEnvelope('Plan'));

    expect(repoStats.recorded).toEqual([
      { repo: 'example/greeter', stats: { fileCount: 3, sizeBytes: 1100, baseSha: 'c'.repeat(40), at: '2026-01-02T03:04:05.000Z' } },
    ]);
    expect(logger.warnings).toEqual([]);
  });

  it('plans all the same when the stats cannot be recorded, and says so in the log', async () => {
    const { service, repoStats, logger } = fixtures();
    repoStats.failWith = new Error('TIMEOUT');

    const planned = await service.plan(sampleEnvelope('Plan'));

    expect(planned).toMatchObject({ summary: 'Add farewell()', stepCount: 2 });
    expect(logger.warnings).toEqual([
      { fields: { err: repoStats.failWith, repo: 'example/greeter' }, message: 'repository stats not recorded; the router scores without repo_size' },
    ]);
  });

  it('lets a planner with reading tools read the base commit before it answers, and records what it read', async () => {
    const requests: ChatToolsRequest[] = [];
    const answers: Array<Partial<ChatToolsResult>> = [
      { content: '', toolCalls: [{ id: 'c1', name: 'read_file', arguments: '{"path": "src/greet.js"}' }] },
      { content: `Here is the plan:\n${JSON.stringify(plan)}`, toolCalls: [] },
    ];
    const llm = {
      chatJson: notCalled,
      async chatTools(request: ChatToolsRequest): Promise<ChatToolsResult> {
        requests.push({ ...request, messages: [...request.messages] });
        const a = answers.shift()!;
        const message = { role: 'assistant' as const, content: a.content || null };
        return { model: 'scripted/planner', inputTokens: 1, outputTokens: 1, finishReason: 'stop', content: '', toolCalls: [], message, ...a };
      },
    };
    const shown: string[] = [];
    const git = {
      async runCapped(_dir: string, args: readonly string[]) {
        shown.push(args.join(' '));
        return { stdout: 'export const greet = (n) => `Hello, ${n}`;\n', truncated: false };
      },
    };
    const stored: unknown[] = [];
    const artifacts = {
      async putJson(key: string, value: unknown) {
        stored.push(value);
        return { key, size: 10, sha256: 'a'.repeat(64), contentType: 'application/json' };
      },
    };
    const reader: AgentDefinition = { ...planner, maxSteps: 4, tools: ['read_file', 'search', 'write_file'] };
    const workspaces = { baseOf: async () => ({ mirrorDir: '/m.git', baseSha: 'b'.repeat(40) }), listFiles: async () => [{ path: 'src/greet.js', size: 44 }] };
    const service = new PlannerService(
      { get: () => reader },
      llm,
      workspaces,
      artifacts,
      new Clock(),
      new FakeRepoStats(),
      fakeLogger(),
      { read: async () => [] },
      git,
    );

    const planned = await service.plan(sampleEnvelope('Plan'));

    expect(planned).toMatchObject({ summary: 'Add farewell()', stepCount: 2 });
    // Only the reading tools are offered, and the prompt says how many turns there are.
    expect(requests[0]!.tools.map((t) => t.name)).toEqual(['read_file', 'search']);
    expect(String(requests[0]!.messages[1]!.content)).toContain('you may read the repository at this commit with read_file, search');
    expect(String(requests[0]!.messages[1]!.content)).toContain('You have 4 turns in all');
    // The file came from the base commit, and its numbered text went back to the model.
    expect(shown).toEqual([`show ${'b'.repeat(40)}:src/greet.js`]);
    expect(requests[1]!.messages.at(-1)).toEqual({
      role: 'tool',
      tool_call_id: 'c1',
      content: 'src/greet.js (1 line)\n1\texport const greet = (n) => `Hello, ${n}`;',
    });
    expect(stored[0]).toMatchObject({ meta: { turns: 2, explored: ['read_file {"path": "src/greet.js"}'], answerFixes: expect.any(Array) } });
  });
});
