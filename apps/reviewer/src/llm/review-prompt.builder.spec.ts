import { sampleFr } from '@agency/contracts/testing';
import type { CheckResult } from '../review/review.model.js';
import { buildReviewPrompt, fence, formatPlan, numberedDiff, truncateDiff } from './review-prompt.builder.js';

const section = (path: string, lines: number) =>
  [`diff --git a/${path} b/${path}`, `--- a/${path}`, `+++ b/${path}`, `@@ -0,0 +1,${lines} @@`, ...Array.from({ length: lines }, (_, i) => `+line ${i}`)].join(
    '\n',
  ) + '\n';

describe('numberedDiff', () => {
  it('puts the new file version line number before each context and added line, none before a removed one (a trial reviewer was two lines off)', () => {
    const diff = [
      'diff --git a/src/a.js b/src/a.js',
      'index 1..2 100644',
      '--- a/src/a.js',
      '+++ b/src/a.js',
      '@@ -10,3 +10,4 @@ function a() {',
      ' keep',
      '-old',
      '+new one',
      '+new two',
      ' tail',
      '\\ No newline at end of file',
      '@@ -40 +41 @@',
      '-x',
      '+y',
      'diff --git a/b.js b/b.js',
      '--- a/b.js',
      '+++ b/b.js',
      '',
    ].join('\n');
    expect(numberedDiff(diff).split('\n')).toEqual([
      'diff --git a/src/a.js b/src/a.js',
      'index 1..2 100644',
      '--- a/src/a.js',
      '+++ b/src/a.js',
      '@@ -10,3 +10,4 @@ function a() {',
      '   10  keep',
      '      -old',
      '   11 +new one',
      '   12 +new two',
      '   13  tail',
      '      \\ No newline at end of file',
      '@@ -40 +41 @@',
      '      -x',
      '   41 +y',
      'diff --git a/b.js b/b.js',
      '--- a/b.js',
      '+++ b/b.js',
      '',
    ]);
  });
});

describe('truncateDiff', () => {
  it('leaves a small diff alone', () => {
    const d = section('a.js', 2);
    expect(truncateDiff(d, 10_000)).toMatchObject({ text: d, truncated: false, omittedFiles: [] });
  });

  it('keeps whole sections, cuts the next at a line and names the files left out', () => {
    const d = section('a.js', 5) + section('b.js', 200) + section('c.js', 5);
    const out = truncateDiff(d, Buffer.byteLength(section('a.js', 5)) + 200);
    expect(out.truncated).toBe(true);
    expect(out.text.startsWith(section('a.js', 5))).toBe(true);
    expect(out.text.endsWith('\n')).toBe(true);
    expect(out.shownBytes).toBeLessThanOrEqual(Buffer.byteLength(section('a.js', 5)) + 200);
    expect(out.partialFile).toBe('b.js');
    expect(out.omittedFiles).toEqual(['c.js']);
  });

  it('never splits a multi-byte character', () => {
    const out = truncateDiff(`--- a/x\n+++ b/x\n@@ -0,0 +1 @@\n+${'é'.repeat(100)}\n`, 40);
    expect(out.text).not.toContain('\uFFFD');
  });
});

describe('fence', () => {
  it('uses a fence longer than any backtick run in the content', () => {
    expect(fence('a ``` b', 'diff')).toBe('````diff\na ``` b\n````');
  });
});

describe('formatPlan', () => {
  it('pretty-prints JSON and shows anything else as is', () => {
    expect(formatPlan('{"summary":"x"}')).toEqual({ text: '{\n  "summary": "x"\n}', lang: 'json' });
    expect(formatPlan('just text')).toEqual({ text: 'just text', lang: '' });
  });
});

describe('buildReviewPrompt', () => {
  const checks: CheckResult[] = [
    {
      id: 'secrets',
      passed: false,
      detail: '1 added line(s) look like they hold secrets',
      findings: [{ file: 'src/a.js', line: 3, severity: 'critical', message: 'token', blocking: true, source: 'check' }],
    },
    { id: 'lint', passed: true, notRun: true, detail: 'no lint command configured (repos.acme/x.lint)', findings: [] },
  ];
  const tests = {
    passed: true,
    counts: { total: 3, passed: 3, failed: 0, skipped: 0 },
    format: 'node' as const,
    report: { key: 'FR-1/s/t.json', size: 1, sha256: 'a'.repeat(64), contentType: 'application/json' },
  };
  const rules = [{ id: 'no-secrets', title: 'No credentials in code', severity: 'critical' as const, appliesTo: [], text: 'No API keys.' }];

  it('holds the FR, plan, tests, checks, rules, diff and the round', () => {
    const fr = { ...sampleFr(), acceptanceCriteria: ['greet() returns Hello', 'Names are trimmed\n(`locale` ignored).'] };
    const { prompt } = buildReviewPrompt({ fr, plan: '{"steps":[]}', diff: section('src/a.js', 1), tests, checks, rules, round: 2 });
    expect(prompt).toContain(`# Feature request ${fr.id}: ${fr.title}`);
    // The FR's own bullets, as the planner and coder see them; a continuation stays under its item.
    expect(prompt).toContain('- greet() returns Hello\n- Names are trimmed\n  (`locale` ignored).');
    expect(prompt).toContain('"steps": []');
    expect(prompt).toContain('Passed: yes (3/3 passed, 0 failed, 0 skipped)');
    expect(prompt).toContain('- secrets: FAILED (1 added line(s) look like they hold secrets)');
    // A check that did not run is not shown as passed (a relay trial's reviewer took "lint: passed" for a lint run).
    expect(prompt).toContain('- lint: not run (no lint command configured (repos.acme/x.lint))');
    expect(prompt).toContain('src/a.js:3 [critical, blocking] token');
    expect(prompt).toContain('## no-secrets: No credentials in code\nSeverity: critical; applies to: every file\n\nNo API keys.');
    expect(prompt).toContain('+line 0');
    expect(prompt.endsWith('Round: 2')).toBe(true);
  });

  it('notes a truncated diff', () => {
    const { prompt, diff } = buildReviewPrompt(
      { fr: sampleFr(), plan: 'p', diff: section('a.js', 50) + section('b.js', 50), tests, checks: [], rules: [], round: 1 },
      { diffBytes: 300, planChars: 100, bodyChars: 100 },
    );
    expect(diff.truncated).toBe(true);
    expect(prompt).toMatch(
      /\[diff truncated: \d+ of \d+ bytes shown; a\.js cut part-way; files not shown: b\.js\. Do not report findings on parts you did not see\.\]/,
    );
    expect(prompt).toContain('No vault rule applies to the changed files.');
  });
});

describe('buildReviewPrompt, what a later round and a real repository add', () => {
  const tests = {
    passed: true,
    counts: { total: 0, passed: 0, failed: 0, skipped: 0 },
    format: 'unparsed' as const,
    report: { key: 'FR-1/s/t.json', size: 1, sha256: 'a'.repeat(64), contentType: 'application/json' },
  };
  const plan = JSON.stringify({
    summary: 'Add stringify()',
    steps: [{ title: 'Write it', files: ['src/index.ts'], detail: 'Mirror parse().' }],
    risks: [],
    instructions: [{ path: 'AGENTS.md', content: 'Every export needs a test.' }],
    meta: { frId: 'FR-1' },
  });

  it("shows the repository's instructions, the plan as the coder read it, the coder's claim and the earlier findings", () => {
    const fr = { ...sampleFr(), body: '## Problem\n\nNo stringify.\n\n## Acceptance criteria\n\n- works', acceptanceCriteria: ['works'] };
    const { prompt } = buildReviewPrompt({
      fr,
      plan,
      diff: section('src/index.ts', 1),
      tests,
      checks: [],
      rules: [],
      round: 2,
      coderSummary: 'Trimmed the name as asked.',
      earlier: {
        round: 1,
        verdict: 'request-changes',
        findings: [{ file: 'src/index.ts', line: 3, severity: 'major', message: 'Trim the name', blocking: true }],
      },
      testOutputTail: 'Total: 39 Passed: 39',
    });
    expect(prompt.startsWith("# The repository's instructions for agents")).toBe(true);
    expect(prompt).toContain('## AGENTS.md\n\n```\nEvery export needs a test.\n```');
    expect(prompt).toContain('# Plan\n\n```\nAdd stringify()\n\n1. Write it (src/index.ts)\n   Mirror parse().\n```');
    expect(prompt).not.toContain('"meta"');
    expect(prompt).toContain('# What the coder says it did\n\nTrimmed the name as asked.');
    expect(prompt).toContain('# The previous review (round 1: request-changes)');
    expect(prompt).toContain('- src/index.ts:3 [major, blocking] Trim the name');
    expect(prompt).toContain('judged by the exit code');
    expect(prompt).toContain('The end of the test output:\n\n```\nTotal: 39 Passed: 39\n```');
    // The criteria are listed once, not again in the description.
    expect(prompt.match(/works/g)).toHaveLength(1);
  });

  describe('the previous round', () => {
    const earlier = {
      round: 1,
      verdict: 'request-changes' as const,
      findings: [{ file: '', severity: 'critical' as const, message: 'The tests failed: 1210/1214 passed', blocking: true }],
    };
    const input = {
      fr: sampleFr(),
      plan,
      diff: section('src/index.ts', 1),
      tests,
      checks: [],
      rules: [],
      round: 2,
      coderSummary: 'Isolated the colour tests.',
      earlier,
    };
    const sectionOf = (prompt: string) => prompt.slice(prompt.indexOf('# The previous'), prompt.indexOf('# Test result'));

    it("is framed as a model's review when one made it, as it always was", () => {
      expect(sectionOf(buildReviewPrompt(input).prompt)).toBe(
        '# The previous review (round 1: request-changes)\n\nIts findings, which this round was meant to address:\n\n- (whole change) [critical, blocking] The tests failed: 1210/1214 passed\n\nCheck each against the diff: do not report again what was fixed; report what is still wrong, saying it was raised before.\n\n',
      );
    });

    it('says the checks alone blocked it, and that this is the first model review, when no model reviewed before (relay trial commander.js)', () => {
      expect(sectionOf(buildReviewPrompt({ ...input, earlierByChecks: { first: true } }).prompt)).toBe(
        "# The previous round (round 1: request-changes, by the deterministic checks alone)\n\nNo model reviewed round 1: its deterministic checks blocked it, so the model was not asked. This is the first model review of the change: review all of it (the diff is the whole change since the base), not only what this round changed, which is all the coder's summary above describes.\n\nThe checks' findings, which this round was meant to address:\n\n- (whole change) [critical, blocking] The tests failed: 1210/1214 passed\n\nCheck each against the diff and the test result: do not report again what was fixed; report what is still wrong, saying it was raised before.\n\n",
      );
      const { coderSummary: _, ...unsummarised } = input;
      expect(buildReviewPrompt({ ...unsummarised, earlierByChecks: { first: true } }).prompt).toContain('not only what this round changed.\n\n');
    });

    it('names the last round a model reviewed, when one did', () => {
      const r3 = { ...input, round: 3, earlier: { ...earlier, round: 2 } };
      expect(buildReviewPrompt({ ...r3, earlierByChecks: { first: false, lastModelRound: 1 } }).prompt).toContain(
        "No model reviewed round 2: its deterministic checks blocked it, so the model was not asked. The last model review was round 1's; the diff is the whole change since the base.\n\n",
      );
      expect(buildReviewPrompt({ ...r3, earlierByChecks: { first: false } }).prompt).toContain(
        'so the model was not asked. The diff is the whole change since the base.\n\n',
      );
    });
  });
});
