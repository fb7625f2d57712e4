import type { FakeLlmCall, FakeLlmReply } from '@agency/testing';

/** The example vault's scripted answers for FR-001 (40_config/llm-script.yaml). */
export const PLAN_ANSWER = JSON.stringify({
  summary: 'Add farewell(name) in src/farewell.js and a test for it.',
  steps: [
    { title: 'Add farewell()', files: ['src/farewell.js'], detail: 'Return `Goodbye, ${name}!`.' },
    { title: 'Test it', files: ['test/farewell.test.js'], detail: 'node:test case for Ada.' },
  ],
  risks: [],
});

export const FAREWELL_JS = '/** Returns a polite goodbye for `name`. */\nexport function farewell(name) {\n  return `Goodbye, ${name}!`;\n}\n';
export const FAREWELL_TEST_JS =
  "import assert from 'node:assert/strict';\nimport { test } from 'node:test';\nimport { farewell } from '../src/farewell.js';\n\ntest('farewell says goodbye', () => {\n  assert.equal(farewell('Ada'), 'Goodbye, Ada!');\n});\n";

export const CODE_ANSWER = JSON.stringify({
  summary: 'Added farewell() and its test.',
  files: [
    { path: 'src/farewell.js', content: FAREWELL_JS },
    { path: 'test/farewell.test.js', content: FAREWELL_TEST_JS },
  ],
});

/** A change that breaks the existing greet test. */
export const BROKEN_ANSWER = JSON.stringify({
  summary: 'Made greet() terse.',
  files: [{ path: 'src/greet.js', content: '/** Returns a greeting. */\nexport function greet(name) {\n  return `Hi ${name}`;\n}\n' }],
});

/** Round 2 of FR-001: the reviewer asked for a trimmed name. */
export const FIX_ANSWER = JSON.stringify({
  summary: 'Trim the name in farewell().',
  files: [{ path: 'src/farewell.js', content: FAREWELL_JS.replace('${name}!', '${name.trim()}!') }],
});

/** Answers per saga (x-agency-saga-id) and model alias; anything else is a 500. */
export class LlmScript {
  private readonly rules = new Map<string, (call: FakeLlmCall) => FakeLlmReply | Promise<FakeLlmReply>>();

  on(sagaId: string, model: string, reply: FakeLlmReply | ((call: FakeLlmCall) => FakeLlmReply | Promise<FakeLlmReply>)): void {
    this.rules.set(`${sagaId}|${model}`, typeof reply === 'function' ? reply : () => reply);
  }

  respond = (call: FakeLlmCall): FakeLlmReply | Promise<FakeLlmReply> => {
    const rule = this.rules.get(`${String(call.headers['x-agency-saga-id'])}|${call.model}`);
    return rule ? rule(call) : { status: 500, message: `no scripted answer for ${String(call.headers['x-agency-saga-id'])} ${call.model}` };
  };
}

/** The n-th reply for the n-th turn of a conversation (turns counted by the assistant messages already in it); the last repeats. */
export function turns(replies: FakeLlmReply[]): (call: FakeLlmCall) => FakeLlmReply {
  return (call) => replies[Math.min(call.messages.filter((m) => m.role === 'assistant').length, replies.length - 1)]!;
}

/** A turn calling tools: `[name, arguments]` pairs. */
export function tools(...calls: Array<[string, unknown]>): FakeLlmReply {
  return { toolCalls: calls.map(([name, args]) => ({ name, arguments: args })) };
}
