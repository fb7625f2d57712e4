import {
  allMatches,
  capTests,
  counts,
  countTests,
  isCut,
  linesOf,
  spansOf,
  sumRuns,
  testCase,
  uncounted,
  type Reading,
  type Run,
  type RunnerParser,
  type TestCase,
  type TestStatus,
} from './parse-kit.js';

const GO_TEST = /^\s*--- (PASS|FAIL|SKIP): (\S+) \(([\d.]+s)\)/;
// `ok  	pkg	0.01s`, `FAIL	pkg	0.01s`, `FAIL	pkg [build failed]`, `?   	pkg	[no test files]`.
const GO_PACKAGE = /^(ok|FAIL|\?)[ ]*\t(\S+)[ \t]+((?:[\d.]+s|\(cached\))(?:[ \t]+\[no tests to run\])?|\[[^\]]+\])/;

/**
 * go test: `--- PASS: TestX (0.00s)` / FAIL / SKIP lines (every test with -v, only failures without),
 * subtests as `TestX/case`, and one line per package (`ok  pkg 0.01s`, `FAIL pkg`, `? pkg [no test
 * files]`), or `go test -json` events. Go prints no count, so counts come from -v's lines or the
 * events: without them (or with the middle of the output cut) they are unknown, except when no
 * package has a test file (a real "no test"). A package that failed to build is a failure.
 */
export const parseGo: RunnerParser = (text) => parseGoJson(text) ?? parseGoText(text);

function parseGoText(text: string): Reading | undefined {
  const tests: TestCase[] = [];
  let packages = 0;
  let testedPackages = 0;
  let start = -1;
  let end = -1;
  for (const { line, at } of linesOf(text)) {
    const t = GO_TEST.exec(line);
    if (t) {
      const status: TestStatus = t[1] === 'PASS' ? 'passed' : t[1] === 'FAIL' ? 'failed' : 'skipped';
      tests.push(testCase(t[2]!, status, undefined, t[3]));
      continue;
    }
    const pkg = GO_PACKAGE.exec(line);
    if (!pkg) continue;
    packages += 1;
    if (start < 0) start = at;
    end = at + line.length;
    if (pkg[1] !== '?' && !/no tests to run/.test(pkg[3]!)) testedPackages += 1;
    if (/^\[.*failed\]$/.test(pkg[3]!)) tests.push(testCase(`${pkg[2]} ${pkg[3]}`, 'failed', pkg[2]));
    // Tests printed since the last package line belong to this package.
    for (let i = tests.length - 1; i >= 0 && tests[i]!.file === undefined; i -= 1) tests[i]!.file = pkg[2];
  }
  if (packages === 0) return undefined;
  const summary = { start, end };
  if (testedPackages === 0) return { format: 'go', counts: counts(0, 0, 0), tests: [], summary };
  const verbose = /^=== RUN\s/m.test(text);
  if (!verbose || isCut(text) || tests.every((t) => t.name.includes(' ['))) return uncounted(tests, summary);
  return { format: 'go', counts: countTests(tests), tests: capTests(tests), summary };
}

interface GoEvent {
  Action: string;
  Package?: string;
  Test?: string;
  Elapsed?: number;
}

function goEvent(line: string): GoEvent | undefined {
  if (!line.startsWith('{') || !line.includes('"Action"')) return undefined;
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && typeof (v as GoEvent).Action === 'string' ? (v as GoEvent) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `go test -json`: one event a line; a test's last pass/fail/skip is its result. A package whose
 * only event is `skip` had no test file. Package lines printed as text (a build failure) are read
 * as go test's plain output is.
 */
function parseGoJson(text: string): Reading | undefined {
  const results = new Map<string, TestCase>();
  const failedPackages = new Set<string>();
  let testedPackages = 0;
  let start = -1;
  let end = -1;
  for (const { line, at } of linesOf(text)) {
    const e = goEvent(line);
    if (!e) continue;
    if (start < 0) start = at;
    end = at + line.length;
    const status = ({ pass: 'passed', fail: 'failed', skip: 'skipped' } as const)[e.Action as 'pass' | 'fail' | 'skip'];
    if (!status) continue;
    if (e.Test) results.set(`${e.Package}\u0000${e.Test}`, testCase(e.Test, status, e.Package, e.Elapsed === undefined ? undefined : e.Elapsed * 1000));
    else if (status !== 'skipped') testedPackages += 1;
    if (!e.Test && status === 'failed') failedPackages.add(e.Package ?? '');
  }
  if (start < 0) return undefined;
  const tests = [...results.values()];
  // A package that failed with no failing test did not build or crashed before its tests.
  for (const pkg of failedPackages)
    if (!tests.some((t) => t.file === pkg && t.status === 'failed')) tests.push(testCase(`${pkg} (failed outside any test)`, 'failed', pkg));
  const plain = parseGoText(text);
  const summary = { start: Math.min(start, plain?.summary.start ?? start), end: Math.max(end, plain?.summary.end ?? end) };
  if (plain) tests.push(...plain.tests.filter((t) => t.name.includes(' [')));
  if (testedPackages === 0 && tests.length === 0) return { format: 'go', counts: countTests([]), tests: [], summary };
  if (isCut(text) || tests.every((t) => t.name.includes(' ['))) return uncounted(tests, summary);
  return { format: 'go', counts: countTests(tests), tests: capTests(tests), summary };
}

const CARGO_RESULT = /^test result: (?:ok|FAILED)\. (\d+) passed; (\d+) failed; (\d+) ignored; \d+ measured; \d+ filtered out.*$/gm;

/** `test tests::adds ... ok`, `... FAILED`, `... ignored`, under `Running unittests src/lib.rs (...)` or `Doc-tests calc`. */
function cargoTests(body: string): TestCase[] {
  const tests: TestCase[] = [];
  let file: string | undefined;
  for (const line of body.split('\n')) {
    const running = /^\s+Running (?:unittests )?(\S+)/.exec(line) ?? /^\s+Doc-tests (\S+)/.exec(line);
    if (running) {
      file = running[1];
      continue;
    }
    const t = /^test (.+?) \.\.\. (ok|FAILED|ignored)(?:, .*)?$/.exec(line);
    if (t) tests.push(testCase(t[1]!, t[2] === 'ok' ? 'passed' : t[2] === 'FAILED' ? 'failed' : 'skipped', file));
  }
  return tests;
}

/**
 * cargo test: one `test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out;
 * finished in 0.00s` per test binary (unit tests, each integration test, doc-tests), summed.
 * Ignored tests count as skipped. A build that failed prints no result: the counts are unknown.
 */
export const parseCargo: RunnerParser = (text) => {
  const found = allMatches(text, CARGO_RESULT);
  return sumRuns('cargo', text, spansOf(found), (body, i): Run => {
    const [, passed, failed, ignored] = found[i]!.map(Number);
    return { counts: counts(passed!, failed!, ignored!), tests: cargoTests(body) };
  });
};
