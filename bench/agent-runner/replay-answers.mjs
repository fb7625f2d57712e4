#!/usr/bin/env node
// Answers a live relay queue with the answers of a recorded run, agent by agent and turn by turn:
// the n-th request of the coder gets the coder's n-th recorded answer, and so on. With it the same
// FR runs again on changed agency code, the model's decisions fixed, so what the change did to
// the prompts (prompt-economy.mjs) and to the outcome can be compared with the recorded run.
//
//   node bench/agent-runner/replay-answers.mjs <recorded queue> <live queue> [--until-idle <s>]
//
// A request of an agent whose recorded answers are used up, or of an agent the recording does not
// have, is answered with an error (the relay fails the call), and said so on stderr.
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { agentOf, readRequest, readResponse, requestNumbers } from './relay-queue.mjs';

const [recorded, live, ...rest] = process.argv.slice(2);
if (!recorded || !live) {
  console.error('usage: node bench/agent-runner/replay-answers.mjs <recorded queue> <live queue> [--until-idle <seconds>]');
  process.exit(2);
}
const idleIndex = rest.indexOf('--until-idle');
const untilIdleMs = idleIndex >= 0 ? Number(rest[idleIndex + 1]) * 1000 : Infinity;

/** The recorded answers of each agent, in order. */
const script = new Map();
for (const n of requestNumbers(recorded)) {
  const agent = agentOf(readRequest(recorded, n));
  const answer = readResponse(recorded, n);
  if (!agent || !answer) continue;
  const list = script.get(agent.role) ?? [];
  list.push({ n, answer });
  script.set(agent.role, list);
}
console.error(`recorded answers: ${[...script.entries()].map(([r, l]) => `${r} ${l.length}`).join(', ')}`);

const used = new Map();
const answered = new Set();
let lastActivity = Date.now();

function answer(n, body) {
  const file = join(live, `${n}.resp.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify(body));
  renameSync(`${file}.tmp`, file);
}

for (;;) {
  if (!existsSync(live)) {
    await sleep(200);
    continue;
  }
  for (const n of requestNumbers(live)) {
    if (answered.has(n) || existsSync(join(live, `${n}.resp.json`))) continue;
    const agent = agentOf(readRequest(live, n));
    answered.add(n);
    lastActivity = Date.now();
    if (!agent) {
      answer(n, { content: 'hi' });
      continue;
    }
    const turn = used.get(agent.role) ?? 0;
    const next = script.get(agent.role)?.[turn];
    used.set(agent.role, turn + 1);
    if (!next) {
      console.error(`#${n}: no recorded answer left for ${agent.role} turn ${turn + 1}`);
      answer(n, { status: 500, error: `replay: no recorded answer for ${agent.role} turn ${turn + 1}` });
      continue;
    }
    console.error(`#${n}: ${agent.role} turn ${turn + 1} <- recorded #${next.n}`);
    answer(n, next.answer);
  }
  if (Date.now() - lastActivity > untilIdleMs) break;
  await sleep(200);
}
console.error(`done: ${[...used.entries()].map(([r, k]) => `${r} ${k}`).join(', ')}`);
