import { parse } from 'yaml';
import { parseScript, ScriptError } from './llm-script.js';

function problems(text: string): string[] {
  try {
    parseScript(parse(text), 'llm-script.yaml');
  } catch (e) {
    if (e instanceof ScriptError) return e.problems;
    throw e;
  }
  throw new Error('expected the script to be refused');
}

describe('parseScript', () => {
  it('reads rules with one reply, several replies and tool calls', () => {
    const script = parseScript(
      parse(`version: 1
rules:
  - match: { model: planner, fr: FR-1, contains: farewell }
    reply: { content: "plan {{frId}}" }
  - match: { model: coder }
    replies:
      - content: first
      - tool_calls: [{ name: read_file, arguments: { path: a.js } }, { name: list, arguments: '{"dir": "{{ frId }}"}' }]
`),
      'llm-script.yaml',
    );
    expect(script.rules).toEqual([
      { index: 0, match: { model: 'planner', fr: 'FR-1', contains: 'farewell' }, replies: [{ content: 'plan {{frId}}', toolCalls: [] }] },
      {
        index: 1,
        match: { model: 'coder' },
        replies: [
          { content: 'first', toolCalls: [] },
          {
            content: null,
            toolCalls: [
              { name: 'read_file', arguments: '{"path":"a.js"}' },
              { name: 'list', arguments: '{"dir": "{{ frId }}"}' },
            ],
          },
        ],
      },
    ]);
  });

  it('names every problem by its path', () => {
    expect(
      problems(`version: 2
rules:
  - match: { fr: FR-1 }
    reply: { content: 3 }
  - match: { model: coder }
  - match: { model: coder }
    reply: { content: a }
    replies: [{ content: b }]
  - match: { model: coder, model_name: x }
    replies: []
`),
    ).toEqual([
      'version: must be 1, got 2',
      'rules[0].match.model: is required (the model alias this rule answers)',
      'rules[0].reply.content: must be a string, got a number',
      'rules[1]: needs exactly one of reply or replies',
      'rules[2]: needs exactly one of reply or replies',
      'rules[3].match: unknown key "model_name" (allowed: model, fr, contains)',
      'rules[3].replies: must be a non-empty list, got an array',
    ]);
  });

  it('refuses unknown placeholders and empty replies', () => {
    expect(problems('version: 1\nrules:\n  - match: { model: a }\n    reply: { content: "hi {{fr_id}}" }\n')).toEqual([
      'rules[0].reply.content: unknown placeholder {{fr_id}} (known: {{frId}}, {{jobId}}, {{sagaId}}, {{step}}, {{model}})',
    ]);
    expect(problems('version: 1\nrules:\n  - match: { model: a }\n    reply: {}\n')).toEqual(['rules[0].reply: needs content or tool_calls']);
    expect(problems('version: 1\nrules:\n  - match: { model: a }\n    reply: { tool_calls: [{ arguments: {} }] }\n')).toEqual([
      'rules[0].reply.tool_calls[0].name: must be a non-empty string, got nothing',
    ]);
  });

  it('refuses a file that is not a mapping, or has no rule list', () => {
    expect(problems('- a')).toEqual(['must be a mapping with version and rules, got an array']);
    expect(problems('version: 1')).toEqual(['rules: must be a list, got nothing']);
  });
});
