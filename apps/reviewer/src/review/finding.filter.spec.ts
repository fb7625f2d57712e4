import { parseUnifiedDiff } from '../diff/unified-diff.parser.js';
import { parseReviewAnswer } from '../llm/review-answer.validator.js';
import { filterFindings, MAX_EVENT_FINDINGS, messagesOverlap, modelFindings, onChangedLine } from './finding.filter.js';
import type { Finding } from './review.model.js';

// src/a.js: lines 2 and 3 added; src/gone.js deleted.
const diff = parseUnifiedDiff(
  [
    'diff --git a/src/a.js b/src/a.js',
    '--- a/src/a.js',
    '+++ b/src/a.js',
    '@@ -1,2 +1,4 @@',
    ' one',
    '+two',
    '+three',
    ' four',
    'diff --git a/src/gone.js b/src/gone.js',
    'deleted file mode 100644',
    '--- a/src/gone.js',
    '+++ /dev/null',
    '@@ -1 +0,0 @@',
    '-x',
  ].join('\n'),
);
const options = { minSeverity: 'minor' as const, minConfidence: 0.5 };
const model = (f: Partial<Finding>): Finding => ({
  file: 'src/a.js',
  line: 2,
  severity: 'major',
  message: 'Handle a null name.',
  confidence: 0.8,
  blocking: false,
  source: 'model',
  ...f,
});
const check = (f: Partial<Finding>): Finding => ({
  file: 'src/a.js',
  line: 3,
  severity: 'critical',
  message: 'Added line 3 of src/a.js contains what looks like a GitHub token.',
  confidence: 1,
  blocking: true,
  source: 'check',
  check: 'secrets',
  ...f,
});

describe('modelFindings', () => {
  it("gives findings without a confidence the review's confidence", () => {
    const out = modelFindings({
      verdict: 'approve',
      confidence: 0.7,
      summary: 's',
      findings: [
        { file: 'a', severity: 'minor', message: 'm' },
        { file: 'b', severity: 'minor', message: 'n', confidence: 0.2 },
      ],
    });
    expect(out.map((f) => f.confidence)).toEqual([0.7, 0.2]);
    expect(out.every((f) => f.source === 'model' && !f.blocking)).toBe(true);
  });
});

describe('onChangedLine', () => {
  it.each([
    [{ file: 'src/a.js', line: 2 }, true],
    [{ file: 'src/a.js', line: 4 }, false],
    [{ file: 'src/a.js' }, true],
    [{ file: 'src/other.js', line: 1 }, false],
    [{ file: '' }, true],
    [{ file: 'src/gone.js', line: 1 }, true],
    [{ file: 'b/src/a.js', line: 3 }, true],
    [{ file: './src/a.js', line: 3 }, true],
  ])('%o -> %s', (f, expected) => {
    expect(onChangedLine(diff, f)).toBe(expected);
  });
});

describe('messagesOverlap', () => {
  it.each([
    ['Handle a null name.', 'handle a null name', true],
    ['The function does not handle a null name argument.', 'Null name argument is not handled by the function.', true],
    ['Handle a null name.', 'Missing test for farewell.', false],
  ])('%s / %s -> %s', (a, b, expected) => {
    expect(messagesOverlap(a, b)).toBe(expected);
  });
});

describe('filterFindings', () => {
  it('drops model findings below MIN_SEVERITY and MIN_CONFIDENCE, with reasons', () => {
    const { kept, dropped } = filterFindings([], [model({ severity: 'info' }), model({ confidence: 0.3, message: 'Other point entirely.' })], diff, options);
    expect(kept).toEqual([]);
    expect(dropped.map((d) => d.reason)).toEqual(['severity info is below MIN_SEVERITY minor', 'confidence 0.3 is below MIN_CONFIDENCE 0.5']);
  });

  it('makes major findings on changed lines blocking, minor ones not', () => {
    const { kept } = filterFindings([], [model({}), model({ line: 3, severity: 'minor', message: 'Name the constant.' })], diff, options);
    expect(kept.map((f) => [f.line, f.blocking])).toEqual([
      [2, true],
      [3, false],
    ]);
  });

  it("lets a finding about what the change misses block: a file it should have changed, named without a line (a bytes.js relay trial's History.md)", () => {
    const { kept } = filterFindings(
      [],
      [
        model({ file: 'History.md', line: undefined, severity: 'major', message: 'The change log is not updated.' }),
        model({ file: 'docs/x.md', line: undefined, severity: 'minor', message: 'Mention it in the docs.' }),
      ],
      diff,
      options,
    );
    expect(kept.map((f) => [f.file, f.blocking, f.note])).toEqual([
      ['History.md', true, undefined],
      ['docs/x.md', false, undefined],
    ]);
  });

  it('reads a file with its line written into it as that file and line, not as a file the change misses (relay trial commander.js)', () => {
    const answer = parseReviewAnswer({
      verdict: 'approve',
      confidence: 0.8,
      summary: 'Fine.',
      findings: [
        { file: 'src/a.js:1', severity: 'major', message: 'An unchanged line.' },
        { file: 'src/a.js#L3', severity: 'major', message: 'A changed line.' },
      ],
    });
    const { kept } = filterFindings([], modelFindings(answer), diff, options);
    expect(kept.map((f) => [f.file, f.line, f.blocking])).toEqual([
      ['src/a.js', 3, true],
      ['src/a.js', 1, false],
    ]);
  });

  it('keeps findings off the changed lines as non-blocking notes', () => {
    const { kept } = filterFindings(
      [],
      [model({ line: 4, severity: 'critical' }), model({ file: 'src/other.js', line: 1, message: 'Unrelated file.' })],
      diff,
      options,
    );
    expect(kept.every((f) => !f.blocking)).toBe(true);
    expect(kept[0]!.note).toContain('is not a line this change touched');
    expect(kept[0]!.message).toContain('(Not on a changed line; non-blocking.)');
  });

  it('merges a model finding into the check finding on the same line', () => {
    const { kept, dropped } = filterFindings(
      [check({})],
      [model({ line: 3, severity: 'critical', message: 'Hard-coded token.', suggestion: 'Use an env variable.' })],
      diff,
      options,
    );
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ source: 'check', blocking: true, message: check({}).message, suggestion: 'Use an env variable.' });
    expect(dropped[0]!.reason).toBe('duplicate of check:secrets src/a.js:3: merged');
  });

  it('merges model duplicates: same line, or the same point on another line', () => {
    const { kept, dropped } = filterFindings(
      [],
      [
        model({ severity: 'minor', message: 'Name could be trimmed.' }),
        model({ severity: 'major', message: 'Null name crashes.' }),
        model({ line: undefined, message: 'Null name crashes here.' }),
      ],
      diff,
      options,
    );
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ severity: 'major', blocking: true, message: 'Null name crashes. Also: Name could be trimmed.' });
    expect(dropped).toHaveLength(2);
  });

  it('never makes a finding on an untouched line blocking, even merged with a duplicate on a changed line', () => {
    // The critical one sits off the change; its duplicate on a changed line (line 2) is the one that may block.
    const { kept } = filterFindings(
      [],
      [model({ line: 4, severity: 'critical', message: 'Null name crashes here.' }), model({ line: 2, severity: 'major', message: 'Null name crashes.' })],
      diff,
      options,
    );
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ line: 2, blocking: true, severity: 'major', confidence: 0.8 });
    expect(kept[0]!.message).not.toContain('non-blocking');
    for (const f of kept) if (f.blocking && f.source === 'model') expect(onChangedLine(diff, f)).toBe(true);
  });

  it('never merges two check findings, never drops a blocking one, and drops low non-blocking ones', () => {
    const tests = check({ file: '', line: undefined, check: 'tests', message: 'The tests failed.' });
    const size = check({ file: '', line: undefined, check: 'diff', severity: 'major', message: 'The diff is too big.' });
    const note = check({ file: '', line: undefined, check: 'tests', severity: 'info', blocking: false, message: 'No test ran.' });
    const { kept, dropped } = filterFindings([tests, size, note], [], diff, options);
    expect(kept.map((f) => f.check)).toEqual(['tests', 'diff']);
    expect(dropped[0]!.reason).toBe('severity info is below MIN_SEVERITY minor');
  });

  it('sorts blocking and severe findings first and caps the list', () => {
    const many = Array.from({ length: MAX_EVENT_FINDINGS + 3 }, (_, i) =>
      model({ file: `src/f${i}.js`, line: 1, severity: 'minor', message: `Point ${i} about thing${i}.` }),
    );
    const { kept, dropped } = filterFindings([check({})], many, diff, options);
    expect(kept).toHaveLength(MAX_EVENT_FINDINGS);
    expect(kept[0]!.source).toBe('check');
    expect(dropped.filter((d) => d.reason.startsWith('over the 200-finding limit'))).toHaveLength(4);
  });
});
