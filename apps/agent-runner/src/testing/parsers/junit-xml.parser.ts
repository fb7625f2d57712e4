import type { TestCountsDto } from '@agency/contracts';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { capTests, countTests, testCase, type ParsedTestOutput, type RunnerParser, type TestCase, type TestStatus } from './parse-kit.js';

/** An element as fast-xml-parser gives it: attributes under `@_name`, children by tag. */
type XmlNode = { [key: string]: XmlValue };
type XmlValue = string | number | boolean | XmlNode | XmlValue[] | undefined;

const ARRAYS = new Set(['testsuite', 'testcase', 'failure', 'error', 'skipped']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseAttributeValue: false,
  parseTagValue: false,
  isArray: (name) => ARRAYS.has(name),
  processEntities: true,
});

function nodes(value: XmlValue): XmlNode[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  // `<skipped/>` comes back as an empty string: it is there all the same.
  return list.map((v) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {}));
}

function attr(node: XmlNode, name: string): string | undefined {
  const v = node[`@_${name}`];
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

function num(node: XmlNode, name: string): number | undefined {
  const v = Number(attr(node, name));
  return Number.isFinite(v) && attr(node, name) !== undefined ? v : undefined;
}

function statusOf(tc: XmlNode): TestStatus {
  if (nodes(tc.failure).length > 0 || nodes(tc.error).length > 0) return 'failed';
  if (nodes(tc.skipped).length > 0) return 'skipped';
  return 'passed';
}

/** Every testcase under a suite, nested suites included, with the nearest file a suite names. */
function collect(suite: XmlNode, file: string | undefined, out: TestCase[]): void {
  const here = attr(suite, 'file') ?? file;
  for (const tc of nodes(suite.testcase)) {
    const seconds = num(tc, 'time');
    out.push(
      testCase(
        attr(tc, 'name') ?? attr(tc, 'classname') ?? '(unnamed)',
        statusOf(tc),
        attr(tc, 'file') ?? here,
        seconds === undefined ? undefined : Math.round(seconds * 1_000_000) / 1000,
      ),
    );
  }
  for (const child of nodes(suite.testsuite)) collect(child, here, out);
}

/** The counts the report declares on its root (or its top suites): some reporters leave skipped cases out. */
function declared(root: XmlNode, top: XmlNode[]): TestCountsDto | undefined {
  const holders = num(root, 'tests') !== undefined ? [root] : top;
  if (holders.length === 0 || holders.some((h) => num(h, 'tests') === undefined)) return undefined;
  const sum = (k: string) => holders.reduce((s, h) => s + (num(h, k) ?? 0), 0);
  const total = sum('tests');
  const failed = sum('failures') + sum('errors');
  const skipped = sum('skipped') + sum('disabled');
  if (failed + skipped > total) return undefined;
  return { total, passed: total - failed - skipped, failed, skipped };
}

/**
 * A JUnit XML report (jest-junit, vitest's junit reporter, mocha-junit-reporter and mocha's xunit,
 * pytest --junitxml, node:test's junit reporter, go-junit-report...): `testsuites`/`testsuite` with
 * nested suites and `testcase`s holding `failure`, `error` (both failed) or `skipped`. Counts come
 * from the test cases, or from the root's declared `tests`/`failures`/`errors`/`skipped` when it
 * declares more tests than it lists. Undefined when the text is not such a report.
 */
export function parseJunitXml(xml: string): ParsedTestOutput | undefined {
  // The parser itself is lenient: an unclosed or cut report must not read as a complete one.
  if (XMLValidator.validate(xml) !== true) return undefined;
  let doc: XmlNode;
  try {
    doc = parser.parse(xml) as XmlNode;
  } catch {
    return undefined;
  }
  const root = nodes(doc.testsuites)[0] ?? (doc.testsuites === undefined ? undefined : {});
  const top = root ? nodes(root.testsuite) : nodes(doc.testsuite);
  if (!root && top.length === 0) return undefined;
  const tests: TestCase[] = [];
  if (root) collect(root, undefined, tests);
  else for (const suite of top) collect(suite, undefined, tests);
  const listed = countTests(tests);
  const stated = declared(root ?? {}, top);
  const counts = stated && stated.total > listed.total ? stated : listed;
  return { format: 'junit', counts, tests: capTests(tests) };
}

/**
 * A JUnit report printed into the output (`node --test --test-reporter=junit`, reporters writing to
 * stdout): from the XML declaration or first `<testsuites>`/`<testsuite>` to the last closing tag.
 */
export const parseJunitInOutput: RunnerParser = (text) => {
  const open = /<\?xml[^>]*\?>\s*<testsuites?\b|<testsuites?\b/.exec(text);
  if (!open) return undefined;
  const close = /<\/testsuites>|<\/testsuite>|<testsuites\s*\/>/g;
  let end = -1;
  for (const m of text.slice(open.index).matchAll(close)) end = open.index + m.index + m[0].length;
  if (end < 0) return undefined;
  const parsed = parseJunitXml(text.slice(open.index, end));
  return parsed && { ...parsed, summary: { start: open.index, end } };
};
