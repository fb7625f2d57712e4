import { APIError } from 'openai';
import { sampleFr } from '@agency/contracts/testing';
import { LlmClient, type CallContext, type ChatRequest, type ChatResult } from '@agency/llm-client';
import { ModelScoreRefiner, parseScoreAdjustment, PROMPT_LIMITS, systemPrompt, userPrompt } from './score-refiner.service.js';
import type { RefineRequest } from './score-refiner.js';
import { scoreFr } from './scoring.service.js';

/** The real chatJson (with its repair turn) over scripted replies. */
class ScriptedLlm extends LlmClient {
  readonly requests: { request: ChatRequest; ctx: CallContext | undefined }[] = [];
  constructor(private readonly replies: (string | Error)[]) {
    super({ baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'unused' });
  }
  override async chat(request: ChatRequest, ctx?: CallContext): Promise<ChatResult> {
    this.requests.push({ request, ctx });
    const next = this.replies.shift();
    if (next === undefined) throw new Error('no scripted reply left');
    if (next instanceof Error) throw next;
    return { content: next, model: 'scripted/router', inputTokens: 100, outputTokens: 20 };
  }
}

const gatewayError = (status: number, code: string, message: string) =>
  APIError.generate(status, { error: { code, message, type: 'x' } }, message, new Headers());

function fixtures(llm: ScriptedLlm | undefined) {
  const warnings: { fields: unknown; message: string }[] = [];
  const refiner = new ModelScoreRefiner(llm, { warn: ((fields: unknown, message: string) => void warnings.push({ fields, message })) as never });
  const fr = sampleFr();
  const request: RefineRequest = {
    fr,
    heuristic: scoreFr(fr),
    model: 'router-check',
    maxAdjustment: 15,
    ctx: { frId: 'FR-1', sagaId: 'FR-1-r1', step: 'score', frBudgetUsd: 2 },
  };
  return { refiner, request, warnings };
}

describe('parseScoreAdjustment', () => {
  it('accepts an integer adjustment within the bound and a reason', () => {
    expect(parseScoreAdjustment({ adjustment: 12, reason: ' touches auth ' }, 15)).toEqual({ adjustment: 12, reason: 'touches auth' });
    expect(parseScoreAdjustment({ adjustment: -15, reason: 'a rename', extra: true }, 15)).toEqual({ adjustment: -15, reason: 'a rename' });
    expect(parseScoreAdjustment({ adjustment: 0, reason: 'right' }, 0)).toEqual({ adjustment: 0, reason: 'right' });
    expect(Object.is(parseScoreAdjustment({ adjustment: -0, reason: 'right' }, 5).adjustment, 0)).toBe(true);
  });

  it('refuses an adjustment out of range, not an integer, or missing', () => {
    expect(() => parseScoreAdjustment({ adjustment: 16, reason: 'x' }, 15)).toThrow('adjustment must be between -15 and 15 (got 16)');
    expect(() => parseScoreAdjustment({ adjustment: -20, reason: 'x' }, 15)).toThrow('adjustment must be between -15 and 15 (got -20)');
    expect(() => parseScoreAdjustment({ adjustment: 2.5, reason: 'x' }, 15)).toThrow('adjustment must be an integer from -15 to 15 (got 2.5)');
    expect(() => parseScoreAdjustment({ adjustment: '12', reason: 'x' }, 15)).toThrow('adjustment must be an integer from -15 to 15 (got "12")');
    expect(() => parseScoreAdjustment({ reason: 'x' }, 15)).toThrow('adjustment must be an integer from -15 to 15 (got nothing)');
  });

  it('refuses a missing, empty or too long reason', () => {
    expect(() => parseScoreAdjustment({ adjustment: 3 }, 15)).toThrow('reason must be a non-empty string (got nothing)');
    expect(() => parseScoreAdjustment({ adjustment: 3, reason: '  ' }, 15)).toThrow('reason must be a non-empty string (got "  ")');
    expect(() => parseScoreAdjustment({ adjustment: 3, reason: 7 }, 15)).toThrow('reason must be a non-empty string (got 7)');
    expect(() => parseScoreAdjustment({ adjustment: 3, reason: 'x'.repeat(501) }, 15)).toThrow('reason must be at most 500 characters (got 501)');
  });

  it('refuses anything but an object', () => {
    for (const v of [null, [1], 'twelve', 12])
      expect(() => parseScoreAdjustment(v, 15)).toThrow('the answer must be a JSON object with "adjustment" and "reason"');
  });
});

describe('prompts', () => {
  it('state the bound and the JSON shape', () => {
    const prompt = systemPrompt(15);
    expect(prompt).toContain('at most 15 points either way');
    expect(prompt).toContain('{"adjustment": <integer from -15 to 15>, "reason": "<one sentence, at most 500 characters>"}');
  });

  it('hold the FR (title, phases, criteria, spec) and the heuristic score with its reasons', () => {
    const fr = sampleFr();
    const prompt = userPrompt(fr, scoreFr(fr));
    expect(prompt).toContain('FR-1: Add a greeting');
    expect(prompt).toContain(`Heuristic score: ${scoreFr(fr).score}/100`);
    expect(prompt).toContain('- phases: 6 points (1 phase(s))');
    expect(prompt).toContain('1. Phase 1: add greet()');
    expect(prompt).toContain('- greet("Ada") returns "Hello, Ada!"');
    expect(prompt).toContain('Spec:\n## Problem\nNo greeting.');
  });

  it('bound a large FR', () => {
    const fr = { ...sampleFr(), body: 'b'.repeat(50_000), acceptanceCriteria: Array.from({ length: 40 }, (_, i) => `criterion ${i} ${'c'.repeat(1000)}`) };
    const prompt = userPrompt(fr, scoreFr(fr));
    expect(prompt).toContain(`Spec (the first ${PROMPT_LIMITS.bodyChars} of 50000 characters):`);
    expect(prompt).toContain('(15 more not shown)');
    expect(prompt).not.toContain('criterion 25 ');
    expect(prompt.length).toBeLessThan(PROMPT_LIMITS.bodyChars + PROMPT_LIMITS.items * (PROMPT_LIMITS.itemChars + 10) + 2000);
  });
});

describe('ModelScoreRefiner', () => {
  it("asks the model with the FR's call context and turns its answer into the model reason", async () => {
    const llm = new ScriptedLlm(['{"adjustment": 12, "reason": "touches auth"}']);
    const { refiner, request } = fixtures(llm);

    expect(await refiner.refine(request)).toEqual({ feature: 'model', points: 12, detail: 'router-check: touches auth' });

    expect(llm.requests).toHaveLength(1);
    const { request: sent, ctx } = llm.requests[0]!;
    expect(sent).toMatchObject({ model: 'router-check', json: true, temperature: 0 });
    expect(sent.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(ctx).toEqual({ frId: 'FR-1', sagaId: 'FR-1-r1', step: 'score', frBudgetUsd: 2 });
  });

  it('uses the repaired answer when the first is out of range', async () => {
    const llm = new ScriptedLlm(['{"adjustment": 40, "reason": "huge"}', '{"adjustment": -4, "reason": "a rename"}']);
    const { refiner, request } = fixtures(llm);
    expect(await refiner.refine(request)).toEqual({ feature: 'model', points: -4, detail: 'router-check: a rename' });
    expect(String(llm.requests[1]!.request.messages.at(-1)!.content)).toContain('adjustment must be between -15 and 15 (got 40)');
  });

  it('keeps the heuristic (0 points, saying why) when the answer is unusable after the repair', async () => {
    const { refiner, request, warnings } = fixtures(new ScriptedLlm(['not json', '{"adjustment": 3}']));
    const reason = await refiner.refine(request);
    expect(reason).toMatchObject({ feature: 'model', points: 0 });
    expect(reason.detail).toMatch(
      /^model refinement failed \(router-check\): model router-check gave no usable JSON after 1 repair turn\(s\): first answer: not valid JSON .*; repair 1: reason must be a non-empty string \(got nothing\); heuristic score kept$/,
    );
    expect(warnings.map((w) => w.message)).toEqual(['score refinement failed; the heuristic score stands']);
  });

  it('keeps the heuristic when the model call fails', async () => {
    const { refiner, request } = fixtures(new ScriptedLlm([gatewayError(404, 'model_not_found', 'no model alias router-check')]));
    expect(await refiner.refine(request)).toEqual({
      feature: 'model',
      points: 0,
      detail: 'model refinement failed (router-check): the LLM gateway answered HTTP 404: 404 no model alias router-check; heuristic score kept',
    });
    const timedOut = fixtures(new ScriptedLlm([new Error('Request timed out.')]));
    expect(await timedOut.refiner.refine(timedOut.request)).toEqual({
      feature: 'model',
      points: 0,
      detail: 'model refinement failed (router-check): Request timed out.; heuristic score kept',
    });
  });

  it('keeps the heuristic when the gateway refuses the call for budget', async () => {
    const { refiner, request } = fixtures(new ScriptedLlm([gatewayError(429, 'budget_exceeded', 'the budget of FR-1 is used up')]));
    const reason = await refiner.refine(request);
    expect(reason).toMatchObject({ feature: 'model', points: 0 });
    expect(reason.detail).toBe(
      'model refinement skipped (router-check): the LLM gateway refused the call, budget used up (429 the budget of FR-1 is used up); heuristic score kept',
    );
  });

  it('skips without a gateway, warning once', async () => {
    const { refiner, request, warnings } = fixtures(undefined);
    expect(await refiner.refine(request)).toEqual({ feature: 'model', points: 0, detail: 'model refinement skipped: LLM_GATEWAY_URL not set' });
    expect(await refiner.refine(request)).toEqual({ feature: 'model', points: 0, detail: 'model refinement skipped: LLM_GATEWAY_URL not set' });
    expect(warnings.map((w) => w.message)).toEqual(['routing.refine_model is set but LLM_GATEWAY_URL is not: scores stay heuristic']);
  });

  it('cuts a long failure to a readable length', async () => {
    const { refiner, request } = fixtures(new ScriptedLlm([new Error('x'.repeat(5000))]));
    expect((await refiner.refine(request)).detail.length).toBeLessThan(500);
  });
});
