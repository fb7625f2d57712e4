import { APIError } from 'openai';
import type { ChatToolsRequest, ChatToolsResult } from '@agency/llm-client';
import { ShapeError } from '../../prompts/shape.js';
import { stepFailureOf } from '../../steps/step-failure.js';
import type { CodeAnswer } from '../code.answer.js';
import type { ToolOutcome } from '../tools/coder-tools.js';
import { CoderLoop } from './coder-loop.js';
import { Transcript } from './transcript.js';

function turn(calls: Array<[string, unknown]>, content = ''): ChatToolsResult {
  const toolCalls = calls.map(([name, args], i) => ({ id: `c${i}`, name, arguments: JSON.stringify(args) }));
  return { content, model: 'fake', inputTokens: 1, outputTokens: 1, toolCalls, finishReason: 'stop', message: { role: 'assistant', content: content || null } };
}

function rig(turns: Array<ChatToolsResult | Error>, run: (name: string, args: string) => ToolOutcome = (name) => (name === 'finish' ? { ok: true, content: 'finished', finished: { summary: 'done' } } : { ok: true, content: `${name} ok` })) {
  const requests: ChatToolsRequest[] = [];
  const ran: string[] = [];
  const checkpoints: string[] = [];
  const answers: CodeAnswer[] = [];
  let sha = 0;
  const loop = new CoderLoop({
    llm: {
      chatTools: async (r) => {
        requests.push({ ...r, messages: [...r.messages] });
        const next = turns.shift();
        if (!next) throw new Error('out of turns');
        if (next instanceof Error) throw next;
        return next;
      },
    },
    tools: { run: async (name, args) => (ran.push(`${name} ${args}`), run(name, args)) },
    checkpoint: async (_paths, label, step) => (checkpoints.push(`${step}: ${label}`), `sha${(sha += 1)}`),
    applyAnswer: async (a) => (answers.push(a), 'sha-answer'),
    parseAnswer: (v) => {
      const o = v as Partial<CodeAnswer>;
      if (typeof o.summary !== 'string') throw new ShapeError('summary must be a string');
      return o as CodeAnswer;
    },
    transcript: new Transcript(),
    progress: () => undefined,
  });
  const input = { model: 'coder', messages: [{ role: 'user' as const, content: 'go' }], tools: [], maxSteps: 4, maxTokens: 100, temperature: 0 };
  return { loop, input, requests, ran, checkpoints, answers };
}

describe('CoderLoop', () => {
  it('nudges a text answer towards the tools, then goes on', async () => {
    const { loop, input, requests } = rig([turn([], 'I will now edit the file.'), turn([['finish', { summary: 'x' }]])]);
    await expect(loop.run(input)).resolves.toMatchObject({ summary: 'done', steps: 2, mode: 'tools' });
    expect(requests[1]!.messages.at(-1)).toEqual({ role: 'user', content: expect.stringContaining('Use the tools to make the change') });
  });

  it('tells the model what is wrong with a JSON answer of the wrong shape', async () => {
    const { loop, input, requests } = rig([turn([], '{"files": []}'), turn([['finish', { summary: 'x' }]])]);
    await loop.run(input);
    expect(requests[1]!.messages.at(-1)!.content).toContain('Your answer could not be used: summary must be a string.');
  });

  it('takes a whole-files JSON answer (in a ```json fence) as the change', async () => {
    const { loop, input, answers } = rig([turn([], '```json\n{"summary": "s", "files": []}\n```')]);
    await expect(loop.run(input)).resolves.toEqual({ summary: 's', steps: 1, commits: 1, mode: 'answer' });
    expect(answers).toHaveLength(1);
  });

  it('does not run tool calls that come after finish, but answers each of them', async () => {
    const { loop, input, ran } = rig([turn([['finish', { summary: 'x' }], ['write_file', { path: 'a' }]])]);
    await loop.run(input);
    expect(ran).toEqual(['finish {"summary":"x"}']);
  });

  it('commits every change and resets the repeat count after one', async () => {
    const same = (): ChatToolsResult => turn([['read_file', { path: 'a' }]]);
    const { loop, input, checkpoints } = rig(
      [same(), same(), turn([['write_file', { path: 'a', content: '1' }]]), same(), turn([['finish', { summary: 'x' }]])],
      (name) => (name === 'write_file' ? { ok: true, content: 'wrote', changed: ['a'] } : name === 'finish' ? { ok: true, content: 'f', finished: { summary: 'x' } } : { ok: true, content: 'read' }),
    );
    await expect(loop.run({ ...input, maxSteps: 10 })).resolves.toMatchObject({ commits: 1, steps: 5 });
    expect(checkpoints).toEqual(['3: write_file a']);
  });

  it('stops at the step limit with STEP_LIMIT', async () => {
    let n = 0;
    const t = () => turn([['list_files', { path: `dir${(n += 1)}` }], ['read_file', { path: `file${n}` }]]);
    const { loop, input } = rig([t(), t(), t(), t(), t()]);
    const failure = stepFailureOf(await loop.run(input).catch((e: unknown) => e));
    expect(failure).toMatchObject({ code: 'STEP_LIMIT', retryable: false });
    expect(failure!.reason).toContain('used all 4 steps');
  });

  it('hands in its checkpoints when the FR budget is spent, and fails with BUDGET_EXCEEDED when there are none', async () => {
    const spent = () => APIError.generate(429, { error: { code: 'budget_exceeded', message: 'Budget exceeded: the budget of FR-1 is used up' } }, 'Budget exceeded: the budget of FR-1 is used up', new Headers());
    const working = rig([turn([['write_file', { path: 'a.js' }]]), spent()], (name) => ({ ok: true, content: `${name} ok`, changed: ['a.js'] }));
    const result = await working.loop.run(working.input);
    expect(result).toMatchObject({ stoppedBy: 'budget', commits: 1, steps: 1, mode: 'tools' });
    expect(result.summary).toContain("Stopped before step 2 because the FR's budget is spent");

    const idle = rig([spent()]);
    expect(stepFailureOf(await idle.loop.run(idle.input).catch((e: unknown) => e))).toMatchObject({ code: 'BUDGET_EXCEEDED', retryable: false });
  });

  it('stops repeated identical text answers too', async () => {
    const { loop, input } = rig([turn([], 'thinking'), turn([], 'thinking'), turn([], 'thinking')]);
    expect(stepFailureOf(await loop.run(input).catch((e: unknown) => e))).toMatchObject({ code: 'REPEATED_ACTION' });
  });
});
