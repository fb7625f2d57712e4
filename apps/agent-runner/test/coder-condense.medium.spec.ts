import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Messages, type Envelope, type PlannedEvent } from '@agency/contracts';
import { tempDir, type TempDir } from '@agency/testing';
import { VAULT_PATH } from './support/greeter-forge.js';
import { RunnerHarness } from './support/runner-harness.js';
import { PLAN_ANSWER, LlmScript, tools, turns } from './support/scripts.js';

// A long tool loop with a small `condense_after_chars`: the old tool results the model is sent
// again on every turn are cut to their first line, the recent ones stay whole (issue 11: the
// conversation only grew, and every turn paid for all of it).
const h = new RunnerHarness();
const script = new LlmScript();
let vault: TempDir;

/** A command whose output is about 1,900 characters: worth condensing once it is old. */
const LOUD = (n: number) => `echo run-${n}; seq 1000 1400`;
const RUNS = 9;

describe("the coder condenses old tool results past the agent file's size, with real git and a Docker sandbox", () => {
  let planned: Envelope<PlannedEvent>;

  beforeAll(async () => {
    vault = tempDir('coder-condense-vault-');
    cpSync(VAULT_PATH, vault.path, { recursive: true });
    const coder = join(vault.path, '20_agents', 'coder.md');
    const text = readFileSync(coder, 'utf8');
    const withLimits = text.replace(/^max_steps: \d+$/m, 'max_steps: 20');
    // The example agent file may not name the setting yet: add it to the front matter.
    const condensed = /^condense_after_chars: .*$/m.test(withLimits)
      ? withLimits.replace(/^condense_after_chars: .*$/m, 'condense_after_chars: 3000')
      : withLimits.replace(/^---\n/, '---\ncondense_after_chars: 3000\n');
    writeFileSync(coder, condensed);
    await h.start({ VAULT_PATH: vault.path, COMMAND_TIMEOUT_SECONDS: '60' });
    h.llm.respond = script.respond;
    script.on('plan', 'planner', PLAN_ANSWER);
    planned = await h.planOnce();
  });

  afterAll(async () => {
    await h.dispose();
    vault?.remove();
  });

  it('sends the old results as their first line and a note, the last six whole, and the task untouched', { timeout: 180_000 }, async () => {
    script.on(
      'condense',
      'coder',
      turns([
        tools(['write_file', { path: 'NOTES.md', content: 'notes\n' }]),
        ...Array.from({ length: RUNS }, (_, i) => tools(['run_command', { command: LOUD(i + 1) }])),
        tools(['finish', { summary: 'Looked around a lot.' }]),
      ]),
    );
    const fr = h.fr('FR-021', 'Condense');
    await h.send(Messages.Code, {
      frId: fr.id,
      sagaId: 'condense',
      jobId: 'job-condense',
      step: 'code-r1',
      attempt: 1,
      payload: { fr, repo: h.repo(), strategy: h.strategy(), plan: planned.payload.plan, round: 1, findings: [] },
    });
    const coded = (await h.answer(Messages.Coded, 'condense', 'code-r1', 1, 150_000)).payload;
    expect(coded).not.toHaveProperty('stopped');

    const calls = h.llm.calls.filter((c) => c.headers['x-agency-saga-id'] === 'condense' && c.model === 'coder');
    expect(calls).toHaveLength(RUNS + 2);
    const last = calls.at(-1)!.messages;
    const results = last
      .filter((m) => m.role === 'tool')
      .map((m) => String(m.content))
      .filter((r) => r.startsWith('exit code'));
    expect(results).toHaveLength(RUNS);
    // The last six tool results (runs 4 to 9) stay whole; the write's result came before them.
    const old = results.slice(0, RUNS - 6);
    const recent = results.slice(RUNS - 6);
    for (const r of old) {
      expect(r).toMatch(/^exit code 0, [\d.]+ s\n\[condensed: \d+ characters of this earlier result dropped/);
      expect(r).not.toContain('1400');
    }
    for (const [i, r] of recent.entries()) {
      expect(r).toContain(`run-${RUNS - 6 + i + 1}`);
      expect(r).toContain('1400');
    }
    // The task (system prompt and first user message) is the same in the first call and the last.
    expect(last.slice(0, 2)).toEqual(calls[0]!.messages.slice(0, 2));
    // The conversation the model is sent stops growing by whole results.
    const size = (i: number) => JSON.stringify(calls[i]!.messages).length;
    expect(size(RUNS + 1) - size(RUNS)).toBeLessThan(1200);
  });
});
