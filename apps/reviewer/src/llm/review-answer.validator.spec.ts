import { parseReviewAnswer, ReviewAnswerError } from './review-answer.validator.js';

const valid = () => ({
  verdict: 'approve',
  confidence: 0.9,
  summary: 'Fine.',
  findings: [{ file: 'src/a.js', line: 3, severity: 'minor', message: 'Trim the name.', suggestion: 'name.trim()' }],
});

describe('parseReviewAnswer', () => {
  it('returns a valid answer typed', () => {
    expect(parseReviewAnswer(valid())).toEqual(valid());
  });

  it('accepts null for optional finding fields, and a per-finding confidence', () => {
    const answer = { ...valid(), findings: [{ file: '', line: null, severity: 'major', message: 'No test.', suggestion: null, confidence: 0.7 }] };
    expect(parseReviewAnswer(answer).findings).toEqual([{ file: '', severity: 'major', message: 'No test.', confidence: 0.7 }]);
  });

  it.each([
    ['n/a', undefined],
    ['N/A', undefined],
    ['none', undefined],
    ['-', undefined],
    ['', undefined],
    [0, undefined],
    ['12', 12],
    ['L12', 12],
    ['line 7', 7],
    ['12-15', 12],
  ])('reads a line given as %j without a repair turn', (line, expected) => {
    const [f] = parseReviewAnswer({ ...valid(), findings: [{ ...valid().findings[0], line }] }).findings;
    expect(f!.line).toBe(expected);
  });

  it.each([
    ['tests/command.configureOutput.test.js:347', undefined, 'tests/command.configureOutput.test.js', 347],
    ['src/a.js:12-20', undefined, 'src/a.js', 12],
    ['src/a.js#L12', undefined, 'src/a.js', 12],
    ['src/a.js#L12-L20', null, 'src/a.js', 12],
    // A line given beside it stays the finding's.
    ['src/a.js:12', 30, 'src/a.js', 30],
  ])('reads a file given as %j (line %j) as the path and its line (relay trial commander.js)', (file, line, path, expected) => {
    const [f] = parseReviewAnswer({ ...valid(), findings: [{ file, line, severity: 'minor', message: 'Trim the name.' }] }).findings;
    expect(f).toEqual({ file: path, line: expected, severity: 'minor', message: 'Trim the name.' });
  });

  it('keeps a file with no line written into it as it is', () => {
    for (const file of ['src/a.js', 'src/a:b.js', 'src/a.js:0', ':12', 'docs/v1.2.md'])
      expect(parseReviewAnswer({ ...valid(), findings: [{ file, severity: 'minor', message: 'm' }] }).findings[0]).toEqual({
        file,
        severity: 'minor',
        message: 'm',
      });
  });

  it.each([
    ['not an object', [], '(answer): must be a JSON object (got [])'],
    ['bad verdict', { ...valid(), verdict: 'maybe' }, 'verdict: must be one of approve, request-changes, reject (got "maybe")'],
    ['verdict with no clear reading', { ...valid(), verdict: 'COMMENTED' }, 'verdict: must be one of approve, request-changes, reject (got "COMMENTED")'],
    ['verdict not a word', { ...valid(), verdict: true }, 'verdict: must be one of approve, request-changes, reject (got true)'],
    ['confidence out of range', { ...valid(), confidence: 150 }, 'confidence: must be a number from 0 to 1 (got 150)'],
    ['negative confidence', { ...valid(), confidence: -0.5 }, 'confidence: must be a number from 0 to 1 (got -0.5)'],
    ['percentage over 100', { ...valid(), confidence: '120%' }, 'confidence: must be a number from 0 to 1 (got "120%")'],
    ['negative percentage', { ...valid(), confidence: '-5%' }, 'confidence: must be a number from 0 to 1 (got "-5%")'],
    ['a number with no one reading as a percentage', { ...valid(), confidence: 1.5 }, 'confidence: must be a number from 0 to 1 (got 1.5)'],
    ['a score of 10 or less', { ...valid(), confidence: 8 }, 'confidence: must be a number from 0 to 1 (got 8)'],
    ['confidence as a string', { ...valid(), confidence: '0.9' }, 'confidence: must be a number from 0 to 1 (got "0.9")'],
    ['missing summary', { ...valid(), summary: undefined }, 'summary: must be a string (got undefined)'],
    ['empty summary', { ...valid(), summary: '  ' }, 'summary: must not be empty'],
    ['findings not a list', { ...valid(), findings: {} }, 'findings: must be a list (got {})'],
    ['unknown top-level field', { ...valid(), notes: 'x' }, 'notes: unknown field; allowed: verdict, confidence, summary, findings'],
    ['finding not an object', { ...valid(), findings: ['x'] }, 'findings[0]: must be an object (got "x")'],
    [
      'bad severity',
      { ...valid(), findings: [{ ...valid().findings[0], severity: 'urgent-ish' }] },
      'findings[0].severity: must be one of minor, major, critical (got "urgent-ish")',
    ],
    [
      'negative line',
      { ...valid(), findings: [{ ...valid().findings[0], line: -3 }] },
      'findings[0].line: must be a line number (an integer from 1) or absent (got -3)',
    ],
    [
      'line as a list',
      { ...valid(), findings: [{ ...valid().findings[0], line: [3] }] },
      'findings[0].line: must be a line number (an integer from 1) or absent (got [3])',
    ],
    [
      'fractional line',
      { ...valid(), findings: [{ ...valid().findings[0], line: 2.5 }] },
      'findings[0].line: must be a line number (an integer from 1) or absent (got 2.5)',
    ],
    ['missing file', { ...valid(), findings: [{ severity: 'minor', message: 'x' }] }, 'findings[0].file: must be a string (got undefined)'],
    ['empty message', { ...valid(), findings: [{ file: 'a', severity: 'minor', message: '' }] }, 'findings[0].message: must not be empty'],
    [
      'unknown finding field',
      { ...valid(), findings: [{ ...valid().findings[0], category: 'style' }] },
      'findings[0].category: unknown field; allowed: file, line, severity, message, suggestion, confidence',
    ],
    [
      'finding confidence',
      { ...valid(), findings: [{ ...valid().findings[0], confidence: -1 }] },
      'findings[0].confidence: must be a number from 0 to 1 (got -1)',
    ],
  ])('%s', (_name, answer, message) => {
    expect(() => parseReviewAnswer(answer)).toThrow(ReviewAnswerError);
    expect(() => parseReviewAnswer(answer)).toThrow(message);
  });

  it.each([
    ['nit', 'minor'],
    ['Nitpick', 'minor'],
    ['low', 'minor'],
    ['medium', 'major'],
    ['high', 'major'],
    ['blocker', 'critical'],
    [' MAJOR ', 'major'],
    ['info', 'info'],
  ])('takes the severity word %j models use as %s instead of spending a repair turn', (word, expected) => {
    const answer = { ...valid(), verdict: 'request-changes', findings: [{ ...valid().findings[0], severity: word }] };
    expect(parseReviewAnswer(answer).findings[0]!.severity).toBe(expected);
  });

  it('reads "medium" in an approving review as minor: a middle word does not overturn the approval (relay trial cookie-es)', () => {
    const finding = (severity: string) => ({ ...valid().findings[0], severity });
    const approve = parseReviewAnswer({ ...valid(), findings: [finding('medium'), finding('Moderate'), finding('high'), finding('major')] });
    expect(approve.findings.map((f) => f.severity)).toEqual(['minor', 'minor', 'major', 'major']);
    // What the model said is kept beside the severity it was read as.
    expect(approve.findings.map((f) => f.message)).toEqual([
      'Trim the name. (severity given as "medium")',
      'Trim the name. (severity given as "Moderate")',
      'Trim the name. (severity given as "high")',
      'Trim the name.',
    ]);
    const changes = parseReviewAnswer({ ...valid(), verdict: 'request-changes', findings: [finding('medium')] });
    expect(changes.findings[0]!.severity).toBe('major');
  });

  it.each([
    ['approve', 'approve'],
    ['Approve', 'approve'],
    ['REQUEST_CHANGES', 'request-changes'],
    ['request_changes', 'request-changes'],
    ['request changes', 'request-changes'],
    ['changes_requested', 'request-changes'],
    ['changes-requested', 'request-changes'],
    ['Needs Changes', 'request-changes'],
    ['revise', 'request-changes'],
    ['approved', 'approve'],
    ['APPROVED', 'approve'],
    ['LGTM', 'approve'],
    ['accept', 'approve'],
    ['rejected', 'reject'],
    ['decline', 'reject'],
  ])('takes the verdict %j as %s instead of spending a repair turn (relay trial rou3)', (word, expected) => {
    const answer = { ...valid(), verdict: word, findings: [{ ...valid().findings[0], severity: 'medium' }] };
    const review = parseReviewAnswer(answer);
    expect(review.verdict).toBe(expected);
    // The severity words read the verdict as mapped: "medium" in an approval is minor.
    expect(review.findings[0]!.severity).toBe(expected === 'approve' ? 'minor' : 'major');
  });

  it('keeps the verdict word the model gave in the summary when it was read as another', () => {
    expect(parseReviewAnswer({ ...valid(), verdict: 'changes_requested' }).summary).toBe('Fine. (verdict given as "changes_requested")');
    expect(parseReviewAnswer({ ...valid(), verdict: ' LGTM ' }).summary).toBe('Fine. (verdict given as "LGTM")');
    // A confidence read as a percentage is said too; one given as 0-1 is not.
    expect(parseReviewAnswer({ ...valid(), verdict: 'approved', confidence: 90 }).summary).toBe('Fine. (verdict given as "approved"; confidence given as 90)');
    expect(parseReviewAnswer({ ...valid(), confidence: '85%' }).summary).toBe('Fine. (confidence given as "85%")');
    // Only the case differs: nothing to trace.
    expect(parseReviewAnswer({ ...valid(), verdict: 'Approve' }).summary).toBe('Fine.');
  });

  it.each([
    [90, 0.9],
    [100, 1],
    [10, 0.1],
    ['55.5%', 0.555],
    ['90%', 0.9],
    [' 85 % ', 0.85],
    ['0%', 0],
    ['100%', 1],
    [1, 1],
    [0.75, 0.75],
    [0, 0],
  ])('reads the confidence %j as %s (a percentage cost a repair turn in relay trial rou3)', (given, expected) => {
    expect(parseReviewAnswer({ ...valid(), confidence: given }).confidence).toBeCloseTo(expected, 10);
    const [f] = parseReviewAnswer({ ...valid(), findings: [{ ...valid().findings[0], confidence: given }] }).findings;
    expect(f!.confidence).toBeCloseTo(expected, 10);
  });

  it('bounds sizes', () => {
    expect(() => parseReviewAnswer({ ...valid(), summary: 'x'.repeat(10_001) })).toThrow('summary: must be at most 10000 characters (got 10001)');
    const many = Array.from({ length: 201 }, () => valid().findings[0]);
    expect(() => parseReviewAnswer({ ...valid(), findings: many })).toThrow('findings: must hold at most 200 findings (got 201)');
  });

  it('names the field in the error object', () => {
    try {
      parseReviewAnswer({ ...valid(), findings: [{ ...valid().findings[0], severity: 7 }] });
    } catch (e) {
      expect((e as ReviewAnswerError).field).toBe('findings[0].severity');
      return;
    }
    throw new Error('expected a ReviewAnswerError');
  });
});
