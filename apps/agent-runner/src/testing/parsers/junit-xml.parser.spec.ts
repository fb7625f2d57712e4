import { parseJunitXml } from './junit-xml.parser.js';

describe('parseJunitXml', () => {
  it('reads nested suites, failures, errors and skipped cases, with the nearest file and durations', () => {
    const xml = `<?xml version="1.0"?>
<testsuites>
  <testsuite name="outer" file="src/a.test.ts">
    <testcase name="ok" time="0.0125"/>
    <testsuite name="inner">
      <testcase name="bad" classname="inner"><failure message="expected 1">trace</failure></testcase>
      <testcase name="broken"><error type="TypeError"/></testcase>
      <testcase name="later"><skipped/></testcase>
    </testsuite>
  </testsuite>
  <testsuite name="other"><testcase name="elsewhere" file="src/b.test.ts"/></testsuite>
</testsuites>`;
    expect(parseJunitXml(xml)).toEqual({
      format: 'junit',
      counts: { total: 5, passed: 2, failed: 2, skipped: 1 },
      tests: [
        { name: 'ok', status: 'passed', file: 'src/a.test.ts', durationMs: 12.5 },
        { name: 'bad', status: 'failed', file: 'src/a.test.ts' },
        { name: 'broken', status: 'failed', file: 'src/a.test.ts' },
        { name: 'later', status: 'skipped', file: 'src/a.test.ts' },
        { name: 'elsewhere', status: 'passed', file: 'src/b.test.ts' },
      ],
    });
  });

  it('takes the declared counts when the report lists fewer cases than it declares (skipped cases left out)', () => {
    const xml =
      '<testsuites tests="4" failures="1" errors="0" skipped="2"><testsuite name="s"><testcase name="a"/><testcase name="b"><failure/></testcase></testsuite></testsuites>';
    expect(parseJunitXml(xml)?.counts).toEqual({ total: 4, passed: 1, failed: 1, skipped: 2 });
  });

  it('reads a lone testsuite root, and an empty report as a real "no test"', () => {
    expect(parseJunitXml('<testsuite name="x" tests="1"><testcase name="a"/></testsuite>')?.counts).toEqual({ total: 1, passed: 1, failed: 0, skipped: 0 });
    expect(parseJunitXml('<testsuites tests="0"></testsuites>')).toEqual({
      format: 'junit',
      counts: { total: 0, passed: 0, failed: 0, skipped: 0 },
      tests: [],
    });
    expect(parseJunitXml('<testsuites/>')).toMatchObject({ format: 'junit', counts: { total: 0 } });
  });

  it('is undefined for what is not a JUnit report', () => {
    expect(parseJunitXml('')).toBeUndefined();
    expect(parseJunitXml('<html><body>no</body></html>')).toBeUndefined();
    expect(parseJunitXml('Tests: 1 passed, 1 total')).toBeUndefined();
    expect(parseJunitXml('<testsuites><testsuite><testcase name="a">')).toBeUndefined();
  });
});
