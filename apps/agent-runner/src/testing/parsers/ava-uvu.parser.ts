import { counts, isCut, linesOf, sumRuns, testCase, type Run, type RunnerParser, type TestCase, type TestStatus } from './parse-kit.js';

interface Block {
  start: number;
  end: number;
  fields: Map<string, number>;
}

/** Blocks of consecutive summary lines (each a run), keyed by the label that `field` gives each line. */
function blocks(text: string, field: (line: string) => [string, number] | undefined, opens: (key: string) => boolean): Block[] {
  const out: Block[] = [];
  let current: Block | undefined;
  for (const { line, at } of linesOf(text)) {
    const f = field(line);
    if (!f) {
      if (line.trim() !== '' || !current) current = undefined;
      continue;
    }
    if (!current || (opens(f[0]) && current.fields.has(f[0]))) {
      current = { start: at, end: at, fields: new Map() };
      out.push(current);
    }
    current.fields.set(f[0], (current.fields.get(f[0]) ?? 0) + f[1]);
    current.end = at + line.length;
  }
  return out;
}

const AVA_FIELD =
  /^[ \t]+(\d+) (tests? passed|known failures?|tests? failed|tests? skipped|tests? todo|uncaught exceptions?|unhandled rejections?|tests? timed out)[ \t]*$/;
const AVA_KEYS: Record<string, string> = {
  passed: 'passed',
  known: 'known',
  failed: 'failed',
  skipped: 'skipped',
  todo: 'todo',
  uncaught: 'crashed',
  unhandled: 'crashed',
  timed: 'failed',
};
const AVA_TEST = /^[ \t]+(✔|✘|-)\s+(?:\[([a-z ]+)\]:?\s+)?(.+?)(\s+\(\d+(?:\.\d+)?m?s\))?$/;

function avaField(line: string): [string, number] | undefined {
  const m = AVA_FIELD.exec(line);
  if (!m) return undefined;
  const word = /(?:tests? )?(\w+)/.exec(m[2]!)![1]!;
  return [AVA_KEYS[word] ?? word, Number(m[1])];
}

function avaTests(body: string): TestCase[] {
  const tests: TestCase[] = [];
  // Failure details (diffs with `- 2` lines) follow the first `─` rule.
  const rule = body.search(/^[ \t]+─[ \t]*$/m);
  for (const line of (rule >= 0 ? body.slice(0, rule) : body).split('\n')) {
    const t = AVA_TEST.exec(line);
    if (!t) continue;
    const tag = t[2] ?? '';
    const status: TestStatus = t[1] === '-' || tag === 'skip' || tag === 'todo' ? 'skipped' : t[1] === '✔' ? 'passed' : 'failed';
    // A worker that died (`✘ test/x.mjs exited with a non-zero exit code: 1`) names its file.
    const exited = /^(\S+) exited with a non-zero exit code/.exec(t[3]!);
    tests.push(exited ? testCase(`${exited[1]} (exited)`, 'failed', exited[1]) : testCase(t[3]!.trim(), status, undefined, t[4]));
  }
  return tests;
}

/**
 * AVA 4-6: tests as `✔ name`, `✘ [fail]: name`, `- [skip] name`, `- [todo] name`, and a summary after
 * the last `─` (`2 tests passed`, `1 test failed`, `1 known failure`, `1 test skipped`, `1 test todo`,
 * `1 uncaught exception`). With failures AVA leaves the passed line out: they are counted from the
 * ✔ lines (unless the output was cut). Uncaught exceptions and rejections count as failures; when
 * they are all there is, a test file crashed before any test ran.
 */
export const parseAva: RunnerParser = (text) => {
  const found = blocks(text, avaField, () => false).filter((b) => ['passed', 'failed', 'skipped', 'todo', 'crashed', 'known'].some((k) => b.fields.has(k)));
  const cut = isCut(text);
  return sumRuns('ava', text, found, (body, i): Run => {
    const f = (k: string) => found[i]!.fields.get(k) ?? 0;
    const tests = avaTests(body);
    const exited = tests.filter((t) => t.name.endsWith(' (exited)'));
    const listedPassed = tests.filter((t) => t.status === 'passed').length;
    if (!found[i]!.fields.has('passed') && cut && f('failed') > 0) return { counts: counts(0, 0, 0), tests, unknown: true };
    const passed = found[i]!.fields.has('passed') ? f('passed') : listedPassed;
    const ran = passed + f('known') + f('failed') + f('skipped') + f('todo');
    if (ran === 0) return { counts: counts(0, 0, 0), tests: exited, unknown: true };
    return { counts: counts(passed + f('known'), f('failed') + f('crashed'), f('skipped') + f('todo')), tests };
  });
};

const UVU_FIELD = /^[ \t]+(Total|Passed|Skipped|Duration):[ \t]+([\d.]+)(?:m?s)?[ \t]*$/;

function uvuField(line: string): [string, number] | undefined {
  const m = UVU_FIELD.exec(line);
  return m ? [m[1]!, Number(m[2])] : undefined;
}

/** uvu prints a file's name, dots for passes and `FAIL  suite  "name"` for each failure. */
function uvuTests(body: string): TestCase[] {
  const tests: TestCase[] = [];
  let file: string | undefined;
  for (const line of body.split('\n')) {
    if (/^\S+\.[cm]?[jt]sx?$/.test(line)) {
      file = line;
      continue;
    }
    const fail = /^\s*FAIL\s+(?:(\S.*?)\s+)?"(.+)"\s*$/.exec(line);
    if (fail) tests.push(testCase(fail[1] ? `${fail[1]} > ${fail[2]}` : fail[2]!, 'failed', file));
  }
  return tests;
}

/**
 * uvu: `Total: 39`, `Passed: 39`, `Skipped: 0`, `Duration: 1.2ms`; Total leaves skipped tests out,
 * failures are Total - Passed and named by the `FAIL  suite  "name"` lines. Passing tests are dots.
 */
export const parseUvu: RunnerParser = (text) => {
  const found = blocks(text, uvuField, (k) => k === 'Total').filter((b) => b.fields.has('Total') && b.fields.has('Passed'));
  return sumRuns('uvu', text, found, (body, i): Run => {
    const f = (k: string) => found[i]!.fields.get(k) ?? 0;
    return { counts: counts(f('Passed'), Math.max(0, f('Total') - f('Passed')), f('Skipped')), tests: uvuTests(body) };
  });
};
