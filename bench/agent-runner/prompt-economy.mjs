#!/usr/bin/env node
// Prompt economy of one recorded FR run: total prompt tokens per agent, and the share a provider's
// prefix cache can serve (what each request shares with the previous request of the same
// conversation). Reads a relay queue (requests as the gateway sent them), so "before" and
// "after" are measured the same way: characters / 4, as the relay estimates tokens.
//
//   node bench/agent-runner/prompt-economy.mjs <queue dir> [<queue dir> ...]
//
// A provider caches a prefix only from a minimum size (Anthropic 1024 tokens, OpenAI 1024):
// overlaps below it count as not cached.
import { agentOf, commonPrefix, promptText, readRequest, requestNumbers } from './relay-queue.mjs';

const MIN_CACHED_CHARS = 1024 * 4;
const tokens = (chars) => Math.round(chars / 4);

function measure(dir) {
  const byRole = new Map();
  const previous = new Map();
  for (const n of requestNumbers(dir)) {
    const request = readRequest(dir, n);
    const agent = agentOf(request);
    if (!agent) continue;
    const prompt = promptText(request);
    // A conversation: the same agent continuing the same task (its first user message).
    const firstUser = request.messages.find((m) => m.role === 'user');
    const key = `${agent.role}:${typeof firstUser?.content === 'string' ? firstUser.content.slice(0, 2000) : ''}`;
    const before = previous.get(key);
    const overlap = before ? commonPrefix(before, prompt) : 0;
    previous.set(key, prompt);
    const row = byRole.get(agent.role) ?? { calls: 0, chars: 0, cachedChars: 0, largest: 0 };
    row.calls += 1;
    row.chars += prompt.length;
    row.cachedChars += overlap >= MIN_CACHED_CHARS ? overlap : 0;
    row.largest = Math.max(row.largest, prompt.length);
    byRole.set(agent.role, row);
  }
  return byRole;
}

function report(dir) {
  const byRole = measure(dir);
  const total = { calls: 0, chars: 0, cachedChars: 0 };
  const lines = [
    `## ${dir}`,
    '',
    '| agent | calls | prompt tokens | cacheable tokens | cacheable share | largest prompt (tokens) |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const [role, r] of [...byRole.entries()].sort()) {
    total.calls += r.calls;
    total.chars += r.chars;
    total.cachedChars += r.cachedChars;
    lines.push(
      `| ${role} | ${r.calls} | ${tokens(r.chars)} | ${tokens(r.cachedChars)} | ${r.chars ? Math.round((100 * r.cachedChars) / r.chars) : 0} % | ${tokens(r.largest)} |`,
    );
  }
  lines.push(
    `| **total** | **${total.calls}** | **${tokens(total.chars)}** | **${tokens(total.cachedChars)}** | **${total.chars ? Math.round((100 * total.cachedChars) / total.chars) : 0} %** | |`,
  );
  return { text: lines.join('\n'), total };
}

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error('usage: node bench/agent-runner/prompt-economy.mjs <relay queue dir> [...]');
  process.exit(2);
}
const results = dirs.map(report);
for (const r of results) console.log(`${r.text}\n`);
if (results.length === 2) {
  const [a, b] = results.map((r) => tokens(r.total.chars));
  console.log(`second / first: ${(b / a).toFixed(2)} of the prompt tokens (${b} / ${a})`);
}
