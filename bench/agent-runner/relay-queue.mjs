// Reading a relay queue (../shared/relay: <n>.req.json, <n>.resp.json): which agent sent each
// request, and how big it was, as the model reads it. Shared by the prompt-economy measurement
// and the replay driver.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Requests of the relay's own check (`relay-check`) are not the agency's. */
const CHECK_MODELS = new Set(['relay-check']);

export function requestNumbers(dir) {
  return readdirSync(dir)
    .map((f) => /^(\d+)\.req\.json$/.exec(f))
    .filter(Boolean)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

export function readRequest(dir, n) {
  return JSON.parse(readFileSync(join(dir, `${n}.req.json`), 'utf8'));
}

export function readResponse(dir, n) {
  const file = join(dir, `${n}.resp.json`);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
}

function text(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (typeof p === 'string' ? p : (p.text ?? JSON.stringify(p)))).join('');
  return content == null ? '' : JSON.stringify(content);
}

/**
 * The agent a request comes from, by its system prompt (the vault's agent files): the same agent
 * has the same system prompt in every run, whatever else the prompt holds.
 */
export function agentOf(request) {
  if (CHECK_MODELS.has(request.model)) return undefined;
  const system = request.messages?.find((m) => m.role === 'system');
  const first = text(system?.content).split('\n')[0] ?? '';
  const digest = createHash('sha256').update(text(system?.content)).digest('hex').slice(0, 8);
  const role = /coder/i.test(first) ? 'coder' : /review/i.test(first) ? 'reviewer' : /plan/i.test(first) ? 'planner' : `agent-${digest}`;
  return { role, digest };
}

/** The request as the model reads it: every message's text and tool calls, and the tool definitions. */
export function promptText(request) {
  const parts = [];
  for (const m of request.messages ?? []) {
    parts.push(`<${m.role}>`, text(m.content));
    for (const c of m.tool_calls ?? []) parts.push(c.function?.name ?? '', c.function?.arguments ?? '');
  }
  const tools = JSON.stringify(request.tools ?? []);
  // Providers put tool definitions first in the cached prefix (Anthropic: tools, system, messages).
  return `${tools}\n${parts.join('\n')}`;
}

export function commonPrefix(a, b) {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i += 1;
  return i;
}
