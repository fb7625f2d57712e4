import { sampleFr, sampleRepo } from '@agency/contracts/testing';
import type { AgentDefinition } from '@agency/vault';
import { UnsafePathError } from '../files/path-guard.js';
import type { Plan } from '../planning/plan.answer.js';
import { parseCodeAnswer } from './code.answer.js';
import { buildCodeMessages, CONTEXT_LIMITS, contextPaths, failureTail } from './code.prompt.js';

const coder: AgentDefinition = {
  role: 'coder',
  model: 'coder',
  maxSteps: 30,
  maxTokens: 8192,
  temperature: 0,
  tools: [],
  systemPrompt: 'You are the coder.',
  repairTurns: 2,
  condenseAfterChars: 60_000,
  repeatLimit: 3,
};
const plan: Plan = {
  summary: 'Add farewell() and a test.',
  steps: [
    { title: 'Add farewell()', files: ['src/farewell.js'], detail: 'Return `Goodbye, ${name}!`.' },
    { title: 'Test it', files: ['test/farewell.test.js', 'src/greet.js'], detail: '' },
  ],
  risks: ['Name may be empty'],
};
const tree = [
  { path: 'package.json', size: 200 },
  { path: 'README.md', size: 90 },
  { path: 'src/greet.js', size: 98 },
  { path: 'test/greet.test.js', size: 180 },
];

describe('contextPaths', () => {
  it('picks existing planned files and a neighbour for each new file, nothing the plan does not name', () => {
    expect(contextPaths(plan, [], tree)).toEqual([
      { path: 'src/greet.js', purpose: 'change' },
      { path: 'test/greet.test.js', purpose: 'imitate' },
    ]);
  });

  it('adds files named by findings and respects the cap', () => {
    const finding = { file: 'README.md', severity: 'minor' as const, message: 'Document farewell', blocking: false };
    expect(contextPaths(plan, [finding], tree)).toContainEqual({ path: 'README.md', purpose: 'change' });
    expect(contextPaths(plan, [finding], tree, 2).map((c) => c.path)).toEqual(['src/greet.js', 'README.md']);
  });

  it('offers no file to imitate for a whole-change finding, which names none (relay trial commander.js: .editorconfig)', () => {
    const rootTree = [{ path: '.editorconfig', size: 20 }, ...tree];
    const whole = { file: '', severity: 'critical' as const, message: 'The tests failed', blocking: true };
    const spaces = { ...whole, file: ' ' };
    expect(contextPaths(plan, [whole, spaces], rootTree)).toEqual(contextPaths(plan, [], rootTree));
    expect(contextPaths({ ...plan, steps: [] }, [whole], rootTree)).toEqual([]);
  });

  it('adds the files the planner read after those the plan and findings name (a trial planner read a file the plan did not list)', () => {
    expect(contextPaths(plan, [], tree, undefined, ['README.md', 'src/greet.js', 'gone.js']).map((c) => c.path)).toEqual([
      'src/greet.js',
      'README.md',
      'test/greet.test.js',
    ]);
  });
});

describe('buildCodeMessages', () => {
  const base = {
    fr: sampleFr(),
    repo: sampleRepo(),
    plan,
    tree,
    contents: [{ path: 'src/greet.js', content: 'export function greet() {}\n', purpose: 'change' as const }],
    findings: [],
  };

  it('gives the first round FR, plan, repository and current files', () => {
    const [system, user] = buildCodeMessages(coder, { ...base, round: 1 });
    expect(system).toEqual({ role: 'system', content: 'You are the coder.' });
    const text = String(user!.content);
    expect(text).toContain('Feature request FR-1');
    expect(text).toContain('# Plan\n\nAdd farewell() and a test.\n\n1. Add farewell() (src/farewell.js)\n   Return `Goodbye, ${name}!`.');
    expect(text).toContain('Risks:\n- Name may be empty');
    expect(text).toContain('## src/greet.js\n\n```\n1\texport function greet() {}\n```');
    // The stable part (the repository) comes before the FR's part, so prompt caches can hold it across FRs.
    expect(text.indexOf('# Repository example/greeter')).toBeLessThan(text.indexOf('Feature request FR-1'));
    expect(text).toContain('Round 1. Implement the plan.');
    expect(text).not.toContain('Review findings');
    expect(text).not.toContain('Failing tests');
  });

  it('adds findings and failing test output in a fix round', () => {
    const finding = { file: 'src/farewell.js', line: 3, severity: 'major' as const, message: 'Trim the name', suggestion: 'name.trim()', blocking: true };
    const text = String(buildCodeMessages(coder, { ...base, round: 2, findings: [finding], testFailures: 'not ok 1 - farewell\n# fail 1' })[1]!.content);
    expect(text).toContain('# Review findings to address\n\n- [major, blocking] src/farewell.js:3: Trim the name Suggestion: name.trim()');
    expect(text).toContain('# Failing tests of the previous round\n\n```\nnot ok 1 - farewell\n# fail 1\n```');
    expect(text).toContain("Round 2. The files above already hold the earlier rounds' work");
  });

  it("keeps the tester's verdict lines when long failing output is cut to its end", () => {
    const output = Array.from({ length: 2000 }, (_, i) => `widget ${i}: checked`).join('\n');
    const excerpt = `[test command "make check" exited with code 2]\n[failing: widgets]\n${output}`;
    const text = String(buildCodeMessages(coder, { ...base, round: 2, findings: [], testFailures: excerpt })[1]!.content);
    expect(text).toContain('# Failing tests of the previous round\n\n```\n[test command "make check" exited with code 2]\n[failing: widgets]\n[... ');
    expect(text).toContain('widget 1999: checked\n```');
    expect(text).not.toContain('widget 0: checked');
    const cut = failureTail(excerpt, CONTEXT_LIMITS.testFailureChars);
    expect(cut.length).toBeLessThanOrEqual(CONTEXT_LIMITS.testFailureChars + 100);
    // Output with no verdict line is cut to its end alone.
    expect(failureTail(output, 100)).toMatch(/^\[\.\.\. \d+ characters of test output cut \.\.\.\]\n.*widget 1999: checked$/s);
  });

  it('explains the tools instead of the JSON format when the agent has tools, keeping JSON as a fallback', () => {
    const text = String(buildCodeMessages(coder, { ...base, round: 1, tools: { workdir: '/workspace/repo' } })[1]!.content);
    expect(text).toContain('Work with the tools; each change is committed at once');
    expect(text).toContain('Run the tests (`npm test`) with run_command');
    expect(text).toContain('call finish with a short summary');
    expect(text).toContain('If you cannot call tools, answer instead with one JSON object');
  });

  it('lists files left out when the contents are too long', () => {
    const file = (name: string) => ({
      path: name,
      content: Array.from({ length: 60 }, (_, i) => `const v${i} = "${'y'.repeat(200)}";`).join('\n'),
      purpose: 'change' as const,
    });
    const many = Array.from({ length: 12 }, (_, i) => file(`f${i}.csv`));
    const text = String(buildCodeMessages(coder, { ...base, round: 1, contents: many })[1]!.content);
    expect(text).toContain('## f0.csv');
    expect(text).toMatch(/\(Not shown, to keep the prompt short: (f\d+\.csv, )*f11\.csv; read_file them\.\)/);
  });

  it("puts the repository's own instructions for agents first, and says what a resumed attempt continues from", () => {
    const text = String(
      buildCodeMessages(coder, {
        ...base,
        round: 1,
        instructions: [{ path: 'AGENTS.md', content: 'Run `npm run lint` before finishing.' }],
        resume: { attempt: 1, reason: 'the model call timed out', commits: ['FR-1: write_file src/farewell.js (round 1, step 2)'] },
      })[1]!.content,
    );
    expect(text.startsWith("# The repository's instructions for agents")).toBe(true);
    expect(text).toContain('## AGENTS.md\n\n```\nRun `npm run lint` before finishing.\n```');
    expect(text).toContain('# Resuming\n\nAttempt 1 of this round stopped (the model call timed out) after these commits, which are kept');
    // What they ask of every change is part of this one (a citty trial lost a round to "Keep AGENTS.md updated").
    expect(text).toContain('What they ask of every change (documentation, a changelog entry, files to keep updated) is part of this change');
  });

  it('shows a file to change once when it is one of the instructions shown above (AGENTS.md twice in a trial), and whole when it differs', () => {
    const agents = '# Agents\n\nKeep AGENTS.md updated.\n';
    const prompt = (content: string) =>
      String(
        buildCodeMessages(coder, {
          ...base,
          round: 2,
          instructions: [{ path: 'AGENTS.md', content: agents }],
          contents: [...base.contents, { path: 'AGENTS.md', content, purpose: 'change' }],
        })[1]!.content,
      );
    const same = prompt(agents);
    expect(same.split('Keep AGENTS.md updated.').length - 1).toBe(1);
    expect(same).toContain("AGENTS.md: as shown above among the repository's instructions (the same file).");
    expect(same).toContain('## src/greet.js');
    const changed = prompt(`${agents}\nA line of round 1.\n`);
    expect(changed.split('Keep AGENTS.md updated.').length - 1).toBe(2);
    expect(changed).not.toContain('as shown above among');
  });

  it('tells a tool-using coder what setup installed and that there is no network', () => {
    const repo = { ...sampleRepo(), setupCommand: 'npm ci' };
    const text = String(
      buildCodeMessages(coder, { ...base, repo, round: 1, tools: { workdir: '/workspace/repo' }, environment: { setupCommand: 'npm ci', setup: 'ran' } })[1]!
        .content,
    );
    expect(text).toContain(
      "The repository's dependencies were installed by its setup (`npm ci`) before you started, so the test runner and tools are there; the sandbox has no network",
    );
    // Once, in the task: the repository header no longer repeats it (trial FR-109 had it twice).
    expect(text.split('`npm ci`').length - 1 + text.split('setup: npm ci').length - 1).toBe(1);
    expect(text).toContain('Tests run with: npm test (after the setup named in your task)');
    const single = String(buildCodeMessages(coder, { ...base, repo, round: 1 })[1]!.content);
    expect(single).toContain('(after setup: npm ci)');
    expect(text).not.toContain('Lint runs with');
  });

  it('names the configured lint, which the test step runs and the reviewer reads, in every round (a citty trial coder knew it only from the FR)', () => {
    const repo = { ...sampleRepo(), lintCommand: 'npx oxlint . && npx oxfmt --check' };
    for (const round of [1, 2]) {
      const text = String(buildCodeMessages(coder, { ...base, repo, round, tools: { workdir: '/workspace/repo' } })[1]!.content);
      expect(text).toContain('Lint runs with: npx oxlint . && npx oxfmt --check (in the test step, after the tests; its result goes to the reviewer');
    }
  });
});

describe('parseCodeAnswer', () => {
  const file = { path: 'src/farewell.js', content: 'export const x = 1;\n' };

  it('accepts the documented shape and normalizes paths', () => {
    expect(parseCodeAnswer({ summary: ' Added farewell ', files: [{ ...file, path: './src/farewell.js' }] })).toEqual({
      summary: 'Added farewell',
      files: [file],
    });
  });

  it.each([
    [{ files: [file] }, 'summary must be a string'],
    [{ summary: 's', files: [] }, 'files must have at least 1 item'],
    [{ summary: 's', files: [{ path: 'a.js' }] }, 'files[0].content must be a string'],
    [{ summary: 's', files: [{ path: '../escape.js', content: '' }] }, 'files[0].path: path "../escape.js" contains ".." and would leave the repository'],
    [{ summary: 's', files: [{ path: '/etc/passwd', content: '' }] }, 'files[0].path: path "/etc/passwd" is absolute'],
    [{ summary: 's', files: [file, { ...file, path: 'src//farewell.js' }] }, 'files[1].path: "src/farewell.js" appears more than once'],
  ])('refuses %j', (value, message) => {
    expect(() => parseCodeAnswer(value)).toThrow(message);
  });

  it('turns the on-disk check into a field error', () => {
    const onDisk = (p: string) => {
      throw new UnsafePathError(p, 'is a symlink pointing outside the repository (link -> /etc)');
    };
    expect(() => parseCodeAnswer({ summary: 's', files: [{ path: 'link', content: '' }] }, onDisk)).toThrow(
      'files[0].path: path "link" is a symlink pointing outside the repository',
    );
  });
});
