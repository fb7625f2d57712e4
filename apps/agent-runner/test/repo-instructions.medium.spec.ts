import { symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Messages } from '@agency/contracts';
import { INSTRUCTION_LIMITS } from '../src/planning/repo-instructions.reader.js';
import { git } from './support/greeter-forge.js';
import { RunnerHarness } from './support/runner-harness.js';
import { CODE_ANSWER, LlmScript, PLAN_ANSWER } from './support/scripts.js';

const BRANCH = 'with-instructions';
const AGENTS_RULE = 'AGENTS-RULE: run `node --test` before finishing, and never touch src/greet.js.';
const COPILOT_RULE = 'COPILOT-RULE: prefer named exports.';
const HUGE_LINE = 'GEMINI-LINE: keep lines short.\n';
const SECRET = 'OUTSIDE-SECRET-4f1c';

/**
 * A repository's own instructions for agents (issue 11) through the real runner: read by the
 * planner from the mirror at the base commit, carried in the plan to the coder, and bounded and
 * confined where the repository is hostile (a huge file, a link out of the repository).
 */
describe("the repository's instructions for agents, from a real repository to the prompts", () => {
  const h = new RunnerHarness();
  const script = new LlmScript();

  beforeAll(async () => {
    await h.start({ SANDBOX: 'process' });
    h.llm.respond = script.respond;
    // The greeter with instruction files of every kind the reader knows, pushed to a branch of the forge.
    const clone = h.forge.freshClone('instructions');
    writeFileSync(join(h.forge.root.path, 'secret.txt'), `${SECRET}\n`);
    writeFileSync(join(clone, 'AGENTS.md'), `# Agents\n\n${AGENTS_RULE}\n`);
    symlinkSync('AGENTS.md', join(clone, 'CLAUDE.md'));
    // A link out of the repository, to a file that does exist on the machine the mirror is on.
    symlinkSync(join(h.forge.root.path, 'secret.txt'), join(clone, 'AGENT.md'));
    writeFileSync(join(clone, 'GEMINI.md'), HUGE_LINE.repeat(100_000));
    mkdirSync(join(clone, '.github'));
    writeFileSync(join(clone, '.github', 'copilot-instructions.md'), `${COPILOT_RULE}\n`);
    git(clone, 'checkout', '-q', '-b', BRANCH);
    git(clone, 'add', '-A');
    git(clone, 'commit', '-q', '-m', 'instructions for agents');
    git(clone, 'push', '-q', 'origin', BRANCH);
  });

  afterAll(async () => {
    await h.dispose();
  });

  it("puts AGENTS.md and its equivalents in the planner's and the coder's prompts, bounded, and follows no link out", async () => {
    const repo = h.repo({ base: BRANCH });
    const ids = (step: string) => ({ frId: 'FR-001', sagaId: 'instr', jobId: 'job-instr', step, attempt: 1 });
    script.on('instr', 'planner', PLAN_ANSWER);
    script.on('instr', 'coder', CODE_ANSWER);
    await h.send(Messages.Plan, { ...ids('plan'), payload: { fr: h.fr(), repo, strategy: h.strategy() } });
    const planned = await h.answer(Messages.Planned, 'instr', 'plan');
    await h.send(Messages.Code, {
      ...ids('code-r1'),
      payload: { fr: h.fr(), repo, strategy: h.strategy(), plan: planned.payload.plan, round: 1, findings: [] },
    });
    await h.answer(Messages.Coded, 'instr', 'code-r1', 1, 60_000);

    const prompt = (model: string) => {
      const call = h.llm.calls.find((c) => c.headers['x-agency-saga-id'] === 'instr' && c.model === model);
      expect(call, `the ${model}'s call`).toBeDefined();
      return call!.messages.map((m) => m.content).join('\n');
    };
    for (const model of ['planner', 'coder']) {
      const text = prompt(model);
      expect(text).toContain("# The repository's instructions for agents");
      expect(text).toContain(`## AGENTS.md\n\n\`\`\`\n# Agents\n\n${AGENTS_RULE}\n\`\`\``);
      // CLAUDE.md is AGENTS.md under another name: shown once, not as its target's path.
      expect(text).not.toContain('## CLAUDE.md');
      expect(text.split(AGENTS_RULE)).toHaveLength(2);
      // The link out of the repository is neither followed nor shown as its path.
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('## AGENT.md');
      expect(text).not.toContain('secret.txt');
      // The huge file is cut to the reader's limit, and what follows it still fits.
      expect(text).toContain('## GEMINI.md');
      expect(text).toMatch(/\[\.\.\. the rest of GEMINI\.md not shown \(3100000 bytes in all\) \.\.\.\]/);
      expect(text.split('GEMINI-LINE').length - 1).toBeLessThanOrEqual(INSTRUCTION_LIMITS.fileChars / HUGE_LINE.length + 1);
      expect(text).toContain(COPILOT_RULE);
    }
  });
});
