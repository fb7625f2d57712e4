import { parse } from 'yaml';
import { parseScript } from './llm-script.js';
import { lastUserText, PlaceholderError, renderReply, ScriptMatcher, type ScriptCall } from './script-matcher.js';

const SCRIPT = parseScript(
  parse(`version: 1
rules:
  - match: { model: planner, fr: FR-1 }
    reply: { content: "plan one" }
  - match: { model: coder, contains: "try again" }
    replies:
      - content: "attempt 1 of {{frId}}"
      - content: "attempt 2 of {{frId}}"
      - content: "final for {{frId}} at {{step}}"
  - match: { model: planner }
    reply: { content: "generic {{frId}} via {{model}}" }
  - match: { model: tools }
    reply: { tool_calls: [{ name: write, arguments: { path: "docs/{{frId}}.md", note: "{{step}}" } }] }
`),
  'llm-script.yaml',
);

const call = (overrides: Partial<ScriptCall>): ScriptCall => ({ model: 'planner', lastUserText: '', ...overrides });

describe('ScriptMatcher', () => {
  it('answers with the first rule that matches model, FR and text', () => {
    const m = new ScriptMatcher(SCRIPT);
    expect(m.answer(call({ frId: 'FR-1' }))?.rule.index).toBe(0);
    expect(m.answer(call({ frId: 'FR-2' }))?.rule.index).toBe(2);
    expect(m.answer(call({ model: 'coder', frId: 'FR-1', lastUserText: 'please try again' }))?.rule.index).toBe(1);
    expect(m.answer(call({ model: 'coder', frId: 'FR-1', lastUserText: 'Try Again' }))).toBeUndefined();
    expect(m.answer(call({ model: 'reviewer' }))).toBeUndefined();
  });

  it('gives the n-th matching call the n-th reply, repeats the last, and counts per FR', () => {
    const m = new ScriptMatcher(SCRIPT);
    const coder = (frId: string) => m.answer(call({ model: 'coder', frId, lastUserText: 'try again' }))!.replyIndex;
    expect([coder('FR-1'), coder('FR-1'), coder('FR-2'), coder('FR-1'), coder('FR-1'), coder('FR-2')]).toEqual([0, 1, 0, 2, 2, 1]);
  });

  it('keeps the counters of one matcher only: a new script starts over', () => {
    const first = new ScriptMatcher(SCRIPT);
    first.answer(call({ model: 'coder', frId: 'FR-1', lastUserText: 'try again' }));
    expect(new ScriptMatcher(SCRIPT).answer(call({ model: 'coder', frId: 'FR-1', lastUserText: 'try again' }))!.replyIndex).toBe(0);
  });
});

describe('renderReply', () => {
  it('fills {{frId}} and the other placeholders', () => {
    const m = new ScriptMatcher(SCRIPT);
    const c = call({ frId: 'FR-7', step: 'plan' });
    expect(renderReply(m.answer(c)!, c).content).toBe('generic FR-7 via planner');
  });

  it('keeps tool-call arguments valid JSON whatever the values hold', () => {
    const m = new ScriptMatcher(SCRIPT);
    const c = call({ model: 'tools', frId: 'FR-7', step: 'a"b\\c' });
    const reply = renderReply(m.answer(c)!, c);
    expect(JSON.parse(reply.toolCalls[0]!.arguments)).toEqual({ path: 'docs/FR-7.md', note: 'a"b\\c' });
  });

  it('refuses a reply whose placeholder the call cannot fill', () => {
    const m = new ScriptMatcher(SCRIPT);
    const c = call({});
    expect(() => renderReply(m.answer(c)!, c)).toThrow(PlaceholderError);
    expect(() => renderReply(m.answer(c)!, c)).toThrow('rules[2] uses {{frId}} but the call has no x-agency-fr-id header');
  });
});

describe('lastUserText', () => {
  it('reads the last user message, skipping later assistant and tool turns', () => {
    expect(
      lastUserText([
        { role: 'system', content: 's' },
        { role: 'user', content: 'first' },
        { role: 'user', content: 'second' },
        { role: 'assistant', content: null, toolCalls: [{ id: '1', name: 'x', arguments: '{}' }] },
        { role: 'tool', toolCallId: '1', content: 'result' },
      ]),
    ).toBe('second');
    expect(lastUserText([{ role: 'system', content: 's' }])).toBe('');
  });
});
