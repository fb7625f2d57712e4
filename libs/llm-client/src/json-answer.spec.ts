import { readJsonAnswer } from './json-answer.js';

describe('readJsonAnswer', () => {
  const plan = { summary: 'Add x', steps: [{ title: 'edit', files: ['a.js'] }] };

  it('reads a bare JSON object without fixes', () => {
    expect(readJsonAnswer(JSON.stringify(plan))).toEqual({ ok: true, value: plan, fixes: [] });
  });

  it('takes the JSON out of a fence surrounded by prose', () => {
    const text = `Here is the plan you asked for:\n\n\`\`\`json\n${JSON.stringify(plan, null, 2)}\n\`\`\`\n\nLet me know if you want changes.`;
    expect(readJsonAnswer(text)).toEqual({ ok: true, value: plan, fixes: ['took the JSON out of a fenced block'] });
  });

  it('prefers a json-tagged fence over an earlier untagged one', () => {
    const text = 'First the shell command:\n```\nnpm test\n```\nThen the answer:\n```json\n{"a": 1}\n```';
    expect(readJsonAnswer(text)).toMatchObject({ ok: true, value: { a: 1 } });
  });

  it('takes an object out of prose without a fence, braces inside strings included', () => {
    const text = 'Sure! {"summary": "use {curly} braces", "steps": []} I hope this helps.';
    expect(readJsonAnswer(text)).toEqual({
      ok: true,
      value: { summary: 'use {curly} braces', steps: [] },
      fixes: ['took the JSON out of the surrounding prose'],
    });
  });

  it.each([
    ['a trailing comma', '{"summary": "x", "steps": [1, 2,],}', { summary: 'x', steps: [1, 2] }],
    ['single quotes and an unquoted key', "{summary: 'x', 'steps': []}", { summary: 'x', steps: [] }],
    ['a comment', '{\n  // the plan\n  "summary": "x"\n}', { summary: 'x' }],
    ['an answer cut at the end', '{"summary": "x", "steps": [{"title": "a"', { summary: 'x', steps: [{ title: 'a' }] }],
    ['Python literals', '{"done": True, "left": None}', { done: true, left: null }],
  ])('mends %s', (_what, text, value) => {
    const read = readJsonAnswer(text);
    expect(read).toMatchObject({ ok: true, value });
    if (read.ok) expect(read.fixes.join(' ')).toContain('repaired malformed JSON');
  });

  it('mends sloppy JSON inside prose and fences', () => {
    expect(readJsonAnswer('Answer:\n```json\n{"a": 1,}\n```')).toMatchObject({ ok: true, value: { a: 1 } });
  });

  it('refuses prose with no JSON in it, saying so precisely', () => {
    const read = readJsonAnswer('I could not find the file you mentioned; could you clarify?');
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.problem).toMatch(/not valid JSON .*near "I could not find/);
  });

  it('refuses an empty answer', () => {
    expect(readJsonAnswer('   ')).toEqual({ ok: false, problem: 'the answer is empty; it must be a JSON object' });
  });

  it('never turns prose into a JSON string', () => {
    expect(readJsonAnswer('just some words').ok).toBe(false);
  });
});
