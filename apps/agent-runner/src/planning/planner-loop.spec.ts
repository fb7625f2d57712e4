import { LlmAnswerError, type ChatToolsRequest, type ChatToolsResult, type ToolCall } from '@agency/llm-client';
import { PlannerLoop } from './planner-loop.js';

type Turn = { content?: string; calls?: Array<Omit<ToolCall, 'id'>> };

/** A model that gives the scripted turns in order and keeps every request it got. */
function model(turns: Turn[]) {
  const requests: ChatToolsRequest[] = [];
  let n = 0;
  return {
    requests,
    async chatTools(request: ChatToolsRequest): Promise<ChatToolsResult> {
      requests.push({ ...request, messages: [...request.messages] });
      const t = turns.shift();
      if (!t) throw new Error('the model was asked more often than scripted');
      const toolCalls = (t.calls ?? []).map((c) => ({ ...c, id: `call-${(n += 1)}` }));
      const content = t.content ?? '';
      const message = {
        role: 'assistant' as const,
        content: content || null,
        ...(toolCalls.length > 0
          ? { tool_calls: toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })) }
          : {}),
      };
      return { model: 'm', inputTokens: 1, outputTokens: 1, finishReason: 'stop', content, toolCalls, message };
    },
  };
}

const tools = {
  ran: [] as string[],
  async run(name: string, args: string) {
    this.ran.push(`${name} ${args}`);
    const missing = args.includes('missing');
    return { ok: !missing, content: missing ? 'error: no such file' : `result of ${name}` };
  },
};

const parse = (v: unknown) => {
  const o = v as { summary?: unknown };
  if (typeof o?.summary !== 'string') throw new Error('"summary" must be a string');
  return { summary: o.summary };
};

function run(turns: Turn[], maxSteps = 3, repairTurns = 1) {
  const llm = model(turns);
  tools.ran = [];
  const loop = new PlannerLoop({ llm, tools });
  const result = loop.run({
    model: 'm',
    messages: [{ role: 'user', content: 'plan it' }],
    tools: [{ name: 'read_file', description: 'd', parameters: {} }],
    maxSteps,
    maxTokens: 100,
    temperature: 0,
    repairTurns,
    shape: '{"summary": "..."}',
    parse,
  });
  return { llm, result };
}

const read = (path: string) => ({ name: 'read_file', arguments: JSON.stringify({ path }) });

describe('PlannerLoop', () => {
  it('answers at once when the model needs nothing read', async () => {
    const { llm, result } = run([{ content: '{"summary": "s"}' }]);
    expect(await result).toMatchObject({ value: { summary: 's' }, turns: 1, explored: [], fixes: [] });
    expect(llm.requests[0]!.toolChoice).toBeUndefined();
  });

  it('runs the reads, then withholds the tools on the last turn and says so', async () => {
    const { llm, result } = run([{ calls: [read('a.ts'), read('b.ts')] }, { calls: [read('c.ts')] }, { content: 'Plan: ```json\n{"summary": "s",}\n```' }]);
    const done = await result;
    expect(done).toMatchObject({ value: { summary: 's' }, turns: 3 });
    expect(done.explored).toEqual(['read_file {"path":"a.ts"}', 'read_file {"path":"b.ts"}', 'read_file {"path":"c.ts"}']);
    expect(done.readFiles).toEqual(['a.ts', 'b.ts', 'c.ts']);
    expect(done.fixes.length).toBeGreaterThan(0);
    expect(llm.requests.map((r) => r.toolChoice)).toEqual([undefined, undefined, 'none']);
    expect(llm.requests[2]!.messages.at(-1)).toEqual({ role: 'user', content: expect.stringMatching(/^That was your last look/) });
    expect(llm.requests[1]!.messages.filter((m) => m.role === 'tool')).toHaveLength(2);
  });

  it('records the files it read once each, not those a read failed on', async () => {
    const { result } = run([{ calls: [read('./a.ts'), read('missing.ts'), read('a.ts')] }, { content: '{"summary": "s"}' }], 5);
    expect((await result).readFiles).toEqual(['a.ts']);
  });

  it('records a read made under another name (cat, view_file) that ran as read_file', async () => {
    const { result } = run(
      [
        {
          calls: [
            { name: 'cat', arguments: JSON.stringify({ path: 'b.ts' }) },
            { name: 'bash', arguments: '{"command": "ls"}' },
          ],
        },
        { content: '{"summary": "s"}' },
      ],
      5,
    );
    expect((await result).readFiles).toEqual(['b.ts']);
  });

  it('does not run a read repeated past the limit, and tells the model why', async () => {
    const same = read('a.ts');
    const { llm, result } = run([{ calls: [same, same, same] }, { content: '{"summary": "s"}' }], 5);
    await result;
    expect(tools.ran).toHaveLength(2);
    expect(llm.requests[1]!.messages.at(-1)).toMatchObject({
      role: 'tool',
      content: expect.stringMatching(/^not run: you have called read_file with these same arguments 3 times/),
    });
  });

  it('gives an unusable answer a repair turn with the problem and the shape', async () => {
    const { llm, result } = run([{ content: '{"title": "x"}' }, { content: '{"summary": "s"}' }]);
    expect(await result).toMatchObject({ value: { summary: 's' }, turns: 2 });
    expect(llm.requests[1]!.messages.at(-1)).toEqual({
      role: 'user',
      content:
        'Your answer could not be used: "summary" must be a string. Answer again with only the corrected JSON object, shaped like {"summary": "..."}, nothing before or after it.',
    });
  });

  it('fails naming every problem when the repairs do not help', async () => {
    const { result } = run([{ content: 'no idea' }, { content: '{"title": "x"}' }]);
    const error = await result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmAnswerError);
    expect((error as Error).message).toMatch(/^model m gave no usable JSON after 1 repair turn\(s\): first answer: .+; repair 1: "summary" must be a string$/);
  });

  it('answers tool calls made after the last look as not run, so the next request stays valid', async () => {
    const { llm, result } = run([{ calls: [read('a.ts')] }, { calls: [read('b.ts')] }, { content: '{"summary": "s"}' }], 2);
    expect(await result).toMatchObject({ turns: 3 });
    expect(tools.ran).toEqual(['read_file {"path":"a.ts"}']);
    const last = llm.requests[2]!.messages;
    expect(last.at(-2)).toMatchObject({ role: 'tool', content: 'not run: the plan was expected' });
    expect(last.at(-1)).toMatchObject({ role: 'user', content: expect.stringMatching(/tool calls after the last look/) });
  });
});
