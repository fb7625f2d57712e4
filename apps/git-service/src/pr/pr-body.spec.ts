import { samplePayloads } from '@agency/contracts/testing';
import type { OpenPrCommand } from '@agency/contracts';
import { agencyMarker, formatUsd, MAX_BODY_CHARS, parseAgencyMarker, prTitle, renderPrBody } from './pr-body.js';

function command(patch: Partial<OpenPrCommand['context']> = {}, fr: Partial<OpenPrCommand['fr']> = {}): OpenPrCommand {
  const cmd = structuredClone(samplePayloads.OpenPr);
  cmd.fr = { ...cmd.fr, id: 'FR-054', title: 'Add farewell', acceptanceCriteria: ['farewell("Ada") is "Goodbye, Ada!"', 'works for\nmulti-line names'], ...fr };
  cmd.context = {
    ...cmd.context,
    planSummary: 'Add src/farewell.js',
    testSummary: 'passed: 3 passed',
    reviewRounds: ['round 1: changes requested', 'round 2: approve'],
    costUsd: 0.4213,
    traceId: 'a'.repeat(32),
    ...patch,
  };
  return cmd;
}

describe('renderPrBody', () => {
  it('names the FR and lists its acceptance criteria as a checklist', () => {
    const body = renderPrBody(command());
    expect(body.startsWith('## FR-054: Add farewell\n')).toBe(true);
    expect(body).toContain('### Acceptance criteria\n\n- [ ] farewell("Ada") is "Goodbye, Ada!"\n- [ ] works for\n      multi-line names\n');
    expect(body).toContain(`\`${samplePayloads.OpenPr.fr.path}\``);
  });

  it('has the plan, the tests, every review round in order and the cost so far', () => {
    const body = renderPrBody(command());
    expect(body).toContain('### Plan\n\nAdd src/farewell.js\n');
    expect(body).toContain('### Tests\n\npassed: 3 passed\n');
    expect(body).toContain('### Review\n\n1. round 1: changes requested\n2. round 2: approve\n');
    expect(body).toContain("### Cost\n\n$0.4213 (model usage for FR-054, all its runs; updated when a call's cost arrives after the PR opened).");
    expect(body.indexOf('### Plan')).toBeLessThan(body.indexOf('### Tests'));
    expect(body.indexOf('### Tests')).toBeLessThan(body.indexOf('### Review'));
  });

  it('keeps the lint line the saga adds under the test counts', () => {
    const body = renderPrBody(command({ testSummary: 'passed: 3 passed, 0 failed, 0 skipped of 3 (round 1)\nlint: `npm run lint` passed' }));
    expect(body).toContain('### Tests\n\npassed: 3 passed, 0 failed, 0 skipped of 3 (round 1)\nlint: `npm run lint` passed\n\n### Review');
  });

  it('links the trace when a viewer URL is given, else shows the trace id', () => {
    expect(renderPrBody(command({ traceUrl: 'http://jaeger/trace/x' }))).toContain(`[Open the trace](http://jaeger/trace/x) (trace id \`${'a'.repeat(32)}\`)`);
    const body = renderPrBody(command({ traceUrl: undefined }));
    expect(body).toContain(`Trace id \`${'a'.repeat(32)}\``);
    expect(body).not.toContain('[Open the trace]');
  });

  it('says when there is nothing to show rather than leaving a section empty', () => {
    const body = renderPrBody(command({ planSummary: '', testSummary: '', reviewRounds: [] }, { acceptanceCriteria: [] }));
    expect(body).toContain('_The FR lists no acceptance criteria._');
    expect(body).toContain('_No plan summary._');
    expect(body).toContain('_No test summary._');
    expect(body).toContain('_No review round recorded._');
  });

  it('marks drafts as needing a human, with the reason when the saga gives one', () => {
    expect(renderPrBody({ ...command(), draft: true })).toContain('**Draft: a human has to look at this before it can merge.**');
    expect(renderPrBody({ ...command({ draftReason: 'the coder stopped at its step limit (40 steps)' }), draft: true })).toContain(
      '**Draft: a human has to look at this before it can merge (the coder stopped at its step limit (40 steps)).**',
    );
    expect(renderPrBody({ ...command({ draftReason: 'ignored when ready' }), draft: false })).not.toContain('**Draft');
  });

  it("shows the coder's summary of the change first, and names the FR by id and where its file is", () => {
    const body = renderPrBody(command({ changeSummary: 'Added farewell() and a test for it.' }, { path: '10_features/05_in_review/FR-054-farewell.md' }));
    expect(body).toContain('Opened by Agency for FR-054 (`10_features/05_in_review/FR-054-farewell.md`;');
    expect(body).toContain('### What changed\n\nAdded farewell() and a test for it.\n');
    expect(body.indexOf('### What changed')).toBeLessThan(body.indexOf('### Acceptance criteria'));
    expect(renderPrBody(command())).not.toContain('### What changed');
  });

  it('keeps the body under the forge limit', () => {
    const body = renderPrBody(
      command({ planSummary: 'x'.repeat(20_000), testSummary: 'y'.repeat(20_000), reviewRounds: Array.from({ length: 50 }, () => 'z'.repeat(2000)) }),
    );
    expect(body.length).toBeLessThanOrEqual(MAX_BODY_CHARS);
    expect(body).toContain('description cut at');
  });
});

describe('prTitle and formatUsd', () => {
  it('titles the PR with the FR id', () => {
    expect(prTitle({ id: 'FR-7', title: 'Do it' })).toBe('FR-7: Do it');
  });

  it('shows small costs with four decimals and larger ones with two', () => {
    expect(formatUsd(0)).toBe('$0.0000');
    expect(formatUsd(0.00321)).toBe('$0.0032');
    expect(formatUsd(12.345)).toBe('$12.35');
  });
});

describe('the hidden marker', () => {
  const origin = { frId: 'FR-054', sagaId: 'saga-1', jobId: 'job-1' };

  it('names the FR run, and reads back the last marker of a body', () => {
    const body = renderPrBody(command(), origin);
    expect(body.trimEnd().split('\n').at(-1)).toMatch(/^<!-- agency: fr=FR-054 saga=saga-1 job=job-1 content=[a-f0-9]{12} -->$/);
    expect(parseAgencyMarker(body)).toEqual(origin);
    expect(parseAgencyMarker(`${agencyMarker('FR-1', 'ab')}\nquoted\n${agencyMarker('FR-2', 'cd', { frId: 'FR-2', sagaId: 's2' })}`)).toEqual({
      frId: 'FR-2',
      sagaId: 's2',
    });
    expect(parseAgencyMarker('no marker')).toBeUndefined();
    expect(parseAgencyMarker(null)).toBeUndefined();
  });

  it('cannot be broken out of by an id, and survives a cut description', () => {
    expect(agencyMarker('FR-1', 'ab', { frId: 'FR-1', sagaId: 'x --> <script>' })).toBe('<!-- agency: fr=FR-1 saga=x_--___script_ content=ab -->');
    const long = renderPrBody(
      command({ planSummary: 'x'.repeat(20_000), testSummary: 'y'.repeat(20_000), reviewRounds: Array.from({ length: 50 }, () => 'z'.repeat(2000)) }),
      origin,
    );
    expect(long.length).toBeLessThanOrEqual(MAX_BODY_CHARS);
    expect(parseAgencyMarker(long)).toEqual(origin);
  });
});
