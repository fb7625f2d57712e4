import { APIError } from 'openai';
import type { ChatToolsRequest, ChatToolsResult } from '@agency/llm-client';
import { ShapeError } from '../../prompts/shape.js';
import type { CodeAnswer } from '../code.answer.js';
import type { ToolOutcome } from '../tools/coder-tools.js';
import { CoderLoop } from './coder-loop.js';
import { Transcript } from './transcript.js';

function turn(calls: Array<[string, unknown]>, content = ''): ChatToolsResult {
  const toolCalls = calls.map(([name, args], i) => ({ id: `c${i}`, name, arguments: JSON.stringify(args) }));
  return { content, model: 'fake', inputTokens: 1, outputTokens: 1, toolCalls, finishReason: 'stop', message: { role: 'assistant', content: content || null } };
}

function rig(
  turns: Array<ChatToolsResult | Error>,
  run: (name: string, args: string) => ToolOutcome = (name) =>
    name === 'finish' ? { ok: true, content: 'finished', finished: { summary: 'done' } } : { ok: true, content: `${name} ok` },
) {
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
    await expect(loop.run(input)).resolves.toEqual({ summary: 's', steps: 1, commits: 1, mode: 'answer', condensedChars: 0 });
    expect(answers).toHaveLength(1);
  });

  it('does not run tool calls that come after finish, but answers each of them', async () => {
    const { loop, input, ran } = rig([
      turn([
        ['finish', { summary: 'x' }],
        ['write_file', { path: 'a' }],
      ]),
    ]);
    await loop.run(input);
    expect(ran).toEqual(['finish {"summary":"x"}']);
  });

  it('commits every change and resets the repeat count after one', async () => {
    const same = (): ChatToolsResult => turn([['read_file', { path: 'a' }]]);
    const { loop, input, checkpoints } = rig(
      [same(), same(), turn([['write_file', { path: 'a', content: '1' }]]), same(), turn([['finish', { summary: 'x' }]])],
      (name) =>
        name === 'write_file'
          ? { ok: true, content: 'wrote', changed: ['a'] }
          : name === 'finish'
            ? { ok: true, content: 'f', finished: { summary: 'x' } }
            : { ok: true, content: 'read' },
    );
    await expect(loop.run({ ...input, maxSteps: 10 })).resolves.toMatchObject({ commits: 1, steps: 5 });
    expect(checkpoints).toEqual(['3: write_file a']);
  });

  it('stops at the step limit, saying so, with what it committed', async () => {
    let n = 0;
    const t = () => {
      const words = n === 0 ? 'Looking around first.' : '';
      n += 1;
      return turn(
        [
          ['list_files', { path: `dir${n}` }],
          ['read_file', { path: `file${n}` }],
        ],
        words,
      );
    };
    const { loop, input } = rig([t(), t(), t(), t(), t()]);
    const result = await loop.run(input);
    expect(result).toMatchObject({
      steps: 4,
      commits: 0,
      stopped: { code: 'STEP_LIMIT', reason: 'the coder used all 4 steps (max_steps of the coder agent) without calling finish' },
    });
    expect(result.summary).toBe(
      'the coder used all 4 steps (max_steps of the coder agent) without calling finish. The coder\'s last words: "Looking around first."',
    );
  });

  it('stops when the FR budget is spent, handing in what it committed', async () => {
    const spent = () =>
      APIError.generate(
        429,
        { error: { code: 'budget_exceeded', message: 'Budget exceeded: the budget of FR-1 is used up' } },
        'Budget exceeded: the budget of FR-1 is used up',
        new Headers(),
      );
    const working = rig([turn([['write_file', { path: 'a.js' }]]), spent()], (name) => ({ ok: true, content: `${name} ok`, changed: ['a.js'] }));
    const result = await working.loop.run(working.input);
    expect(result).toMatchObject({ stopped: { code: 'BUDGET_EXCEEDED' }, commits: 1, steps: 1, mode: 'tools' });
    expect(result.stopped!.reason).toContain("the FR's budget is spent (429 Budget exceeded");
    // Other refusals are not a stop: they fail the step.
    const refused = rig([APIError.generate(400, { error: { message: 'bad request' } }, 'bad request', new Headers())]);
    await expect(refused.loop.run(refused.input)).rejects.toThrow('bad request');
  });

  it('stops at its deadline before asking the model again', async () => {
    let clock = 1000;
    const { loop, input, requests } = rig([turn([['write_file', { path: 'a.js' }]]), turn([['finish', { summary: 'x' }]])], (name) => {
      clock = 5000;
      return { ok: true, content: `${name} ok`, changed: ['a.js'] };
    });
    (loop as unknown as { deps: { now: () => number } }).deps.now = () => clock;
    const result = await loop.run({ ...input, deadlineMs: 4000 });
    expect(result.stopped).toEqual({ code: 'TIMEOUT', reason: 'the coder ran out of its time (max_minutes of the coder agent) before step 2' });
    expect(requests).toHaveLength(1);
  });

  it('warns about repeated identical text answers once, then stops', async () => {
    const { loop, input, requests } = rig([turn([], 'thinking'), turn([], 'thinking'), turn([], 'thinking'), turn([], 'thinking')]);
    expect(await loop.run(input)).toMatchObject({ stopped: { code: 'REPEATED_ACTION' }, steps: 4 });
    expect(requests).toHaveLength(4);
  });

  it('warns a model repeating an action instead of running it, and lets it go on when it changes course', async () => {
    const same = (): ChatToolsResult => turn([['run_command', { command: 'npm test' }]]);
    const { loop, input, ran, requests } = rig([same(), same(), same(), turn([['finish', { summary: 'x' }]])]);
    await expect(loop.run({ ...input, maxSteps: 10 })).resolves.toMatchObject({ summary: 'done' });
    expect(ran).toEqual(['run_command {"command":"npm test"}', 'run_command {"command":"npm test"}', 'finish {"summary":"x"}']);
    expect(requests[3]!.messages.at(-1)).toMatchObject({
      role: 'tool',
      content: expect.stringMatching(
        /^not run: you have called run_command with these same arguments 3 times with no change.*Repeating it once more stops your work\.$/,
      ),
    });
  });

  it('condenses old tool results once the conversation passes its size, keeping the task and the recent results', async () => {
    const big = (i: number) => `src/f${i}.js (300 lines)\n${'x'.repeat(2000)}`;
    let i = 0;
    const reads = Array.from({ length: 9 }, (_, k) => turn([['read_file', { path: `src/f${k}.js` }]]));
    const { loop, input, requests } = rig([...reads, turn([['finish', { summary: 'x' }]])], (name) =>
      name === 'finish' ? { ok: true, content: 'f', finished: { summary: 'x' } } : { ok: true, content: big((i += 1)) },
    );
    const result = await loop.run({ ...input, maxSteps: 20, condenseAfterChars: 10_000 });
    expect(result.condensedChars).toBeGreaterThan(0);
    const last = requests.at(-1)!.messages;
    expect(last[0]).toEqual({ role: 'user', content: 'go' });
    const results = last.filter((m) => m.role === 'tool').map((m) => String(m.content));
    expect(results[0]).toMatch(/^src\/f1\.js \(300 lines\)\n\[condensed: 2000 characters of this earlier result dropped/);
    expect(results.slice(-6).every((r) => !r.includes('[condensed'))).toBe(true);
  });
});
