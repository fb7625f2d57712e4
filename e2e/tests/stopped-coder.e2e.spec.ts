import { execFileSync } from 'node:child_process';
import { expectEventually } from '@agency/testing';
import { ScriptedStack, type PullRecord } from './support/scripted-stack.js';

interface SagaView {
  state: string;
  step: string;
  stopped?: { code: string; reason: string };
  draftReason?: string;
  pr?: { number: number; draft: boolean };
  failure?: unknown;
  reviews: unknown[];
  tests?: unknown;
}

const NOTES = 'Notes on farewell().\n';
const turn = (name: string, args: Record<string, unknown>) => ({ tool_calls: [{ name, arguments: args }] });
/** The coder writes one file, then reads the same file again and again until the loop stops it. */
const SCRIPT = JSON.stringify({
  version: 1,
  rules: [
    {
      match: { model: 'planner', fr: 'FR-001' },
      reply: { content: JSON.stringify({ summary: 'Write notes.', steps: [{ title: 'Notes', files: ['NOTES.md'], detail: 'A note.' }], risks: [] }) },
    },
    {
      match: { model: 'coder', fr: 'FR-001' },
      replies: [turn('write_file', { path: 'NOTES.md', content: NOTES }), ...Array.from({ length: 6 }, () => turn('read_file', { path: 'README.md' }))],
    },
    { match: { model: 'reviewer', fr: 'FR-001' }, reply: { content: JSON.stringify({ verdict: 'approve', confidence: 0.9, summary: 'ok', findings: [] }) } },
  ],
});

/**
 * A coder that stops at its limits hands in its commits (issue 11's saga side, issue 13): the
 * saga opens them as a draft PR labelled agency:needs-human whose description says why the coder
 * stopped, and runs no tests or review on the unfinished work.
 */
describe('a coder that stopped early: its commits become a draft PR that says why', () => {
  let stack: ScriptedStack;

  beforeAll(async () => {
    stack = await ScriptedStack.start('agency-stopped-coder-', SCRIPT);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('opens a draft PR with the commit handed in, labelled for a person, with the reason in its description', async () => {
    const saga = async () => (await (await fetch(`${stack.url('orchestrator')}/sagas/FR-001`)).json()) as SagaView;
    await expectEventually(async () => expect(await saga()).toMatchObject({ state: 'awaiting-merge', step: 'merge-r1' }), {
      timeoutMs: 120_000,
      intervalMs: 500,
      message: 'FR-001 at its PR',
    });
    const s = await saga();
    expect(s.failure).toBeUndefined();
    expect(s.stopped?.code).toBe('REPEATED_ACTION');
    expect(s.draftReason).toMatch(/^the coder stopped early \(REPEATED_ACTION\): /);
    // Straight to the PR: no tests, no review of unfinished work.
    expect(s.tests).toBeUndefined();
    expect(s.reviews).toEqual([]);

    const pulls = `${stack.url('git-service')}/forge/local/repos/example/greeter/pulls`;
    const pr = (await (await fetch(`${pulls}/${s.pr!.number}`)).json()) as PullRecord;
    expect(pr).toMatchObject({ state: 'open', draft: true });
    expect(pr.labels).toEqual(expect.arrayContaining(['agency', 'agency:needs-human']));
    expect(pr.labels).not.toContain('agency:in-progress');
    expect(pr.body).toContain(`**Draft: a human has to look at this before it can merge (${s.draftReason}).**`);
    // The work handed in is on the branch: the one file the coder wrote before it stopped.
    expect(execFileSync('git', ['-C', stack.bare, 'show', `${pr.headSha}:NOTES.md`], { encoding: 'utf8' })).toBe(NOTES);
    expect(execFileSync('git', ['-C', stack.bare, 'diff', '--name-only', `main...${pr.headSha}`], { encoding: 'utf8' }).trim()).toBe('NOTES.md');
  });
});
