import type { RepoTargetDto } from '@agency/contracts';
import { sampleEnvelope } from '@agency/contracts/testing';
import type { CallContext, ChatRequest } from '@agency/llm-client';
import { Clock } from '@agency/messaging';
import type { AgentDefinition } from '@agency/vault';
import { PlannerService } from './planner.service.js';

const planner: AgentDefinition = { role: 'planner', model: 'planner', maxSteps: 1, maxTokens: 2048, temperature: 0, tools: [], systemPrompt: 'Plan it.' };
const plan = { summary: 'Add farewell()', steps: [{ title: 'Add', files: ['src/farewell.js'], detail: 'd' }, { title: 'Test', files: ['test/farewell.test.js'], detail: '' }], risks: [] };

describe('PlannerService', () => {
  it('plans from the repository at the base and stores plan.json with its provenance', async () => {
    const calls: Array<{ request: ChatRequest; ctx?: CallContext }> = [];
    const llm = {
      async chatJson<T>(request: ChatRequest, parse: (v: unknown) => T, ctx?: CallContext) {
        calls.push({ request, ...(ctx ? { ctx } : {}) });
        return { value: parse(plan), result: { content: '', model: 'scripted/planner', inputTokens: 1, outputTokens: 1 }, repaired: false };
      },
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

    const planned = await new PlannerService({ get: () => planner }, llm, workspaces, artifacts, clock).plan(env);

    expect(seen).toEqual(['baseOf example/greeter', `listFiles /m.git ${'b'.repeat(40)}`]);
    expect(calls[0]!.request).toMatchObject({ model: 'big-planner', maxTokens: 2048, temperature: 0 });
    expect(calls[0]!.ctx).toEqual({ frId: 'FR-1', sagaId: 'saga-1', step: 'plan', jobId: 'job-1', frBudgetUsd: 5 });
    expect(String(calls[0]!.request.messages[1]!.content)).toContain('src/greet.js (98 B)');
    expect(stored).toEqual([
      {
        key: 'FR-1/saga-1/plan.json',
        value: { ...plan, meta: { frId: 'FR-1', sagaId: 'saga-1', repo: 'example/greeter', base: 'main', baseSha: 'b'.repeat(40), model: 'scripted/planner', createdAt: '2026-01-02T03:04:05.000Z' } },
      },
    ]);
    expect(planned).toEqual({ plan: { key: 'FR-1/saga-1/plan.json', size: 10, sha256: 'a'.repeat(64), contentType: 'application/json' }, summary: 'Add farewell()', stepCount: 2 });
  });
});
