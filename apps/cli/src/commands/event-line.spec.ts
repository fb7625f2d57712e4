import { Messages } from '@agency/contracts';
import { eventLine, HeartbeatRepeats, type LoggedEvent } from './event-line.js';

const at = '2026-12-03T17:07:20.123Z';
const event = (type: string, step: string, payload: Record<string, unknown>, attempt = 1): LoggedEvent => ({ type, step, attempt, occurredAt: at, payload });
/** The line without its time and the type's padding. */
const shown = (e: LoggedEvent) => eventLine(e).slice(10).replace(/ +/g, ' ');

const usage = {
  alias: 'coder',
  provider: 'anthropic',
  model: 'claude-x',
  inputTokens: 12_345,
  cachedInputTokens: 0,
  outputTokens: 678,
  costUsd: 0.04321,
  latencyMs: 900,
  status: 'ok',
};
const lint = { command: 'npx oxlint . && npx oxfmt --check', exitCode: 0, timedOut: false, durationMs: 800, outputTail: '' };
const tested = {
  round: 1,
  passed: true,
  exitCode: 0,
  timedOut: false,
  counts: { total: 79, passed: 79, failed: 0, skipped: 0 },
  format: 'vitest',
  durationMs: 4000,
  report: { bucket: 'b', key: 'k', bytes: 1, sha256: 'x' },
};

describe('eventLine', () => {
  it("shows a usage event's tokens in and out, cost and model, and the calls when the gateway merged several", () => {
    expect(eventLine(event(Messages.LlmUsage.type, 'plan', usage))).toBe(
      `17:07:20  ${Messages.LlmUsage.type.padEnd(30)} plan  12345 in / 678 out tokens, $0.0432, claude-x`,
    );
    expect(shown(event(Messages.LlmUsage.type, 'code-r1', { ...usage, calls: 3 }))).toBe(
      `${Messages.LlmUsage.type} code-r1 12345 in / 678 out tokens, $0.0432, claude-x (3 calls)`,
    );
    expect(shown(event(Messages.LlmUsage.type, 'plan', { ...usage, calls: 1, status: 'error' }))).toBe(
      `${Messages.LlmUsage.type} plan 12345 in / 678 out tokens, $0.0432, claude-x, error`,
    );
  });

  it("shows a tested event's verdict, counts and lint", () => {
    expect(shown(event(Messages.Tested.type, 'test-r1', { ...tested, lint }))).toBe(
      `${Messages.Tested.type} test-r1 passed: 79 passed, 0 failed of 79; lint passed`,
    );
    expect(
      shown(
        event(
          Messages.Tested.type,
          'test-r2',
          { ...tested, passed: false, exitCode: 1, counts: { total: 10, passed: 8, failed: 2, skipped: 0 }, lint: { ...lint, exitCode: 2 } },
          2,
        ),
      ),
    ).toBe(`${Messages.Tested.type} test-r2#2 failed: 8 passed, 2 failed of 10; lint failed (exit 2)`);
    expect(shown(event(Messages.Tested.type, 'test-r1', { ...tested, passed: false, timedOut: true, lint: { ...lint, timedOut: true } }))).toBe(
      `${Messages.Tested.type} test-r1 timed out: 79 passed, 0 failed of 79; lint timed out`,
    );
    // No lint configured: nothing said about it.
    expect(shown(event(Messages.Tested.type, 'test-r1', tested))).toBe(`${Messages.Tested.type} test-r1 passed: 79 passed, 0 failed of 79`);
  });

  it("shows a scored event's score and tier", () => {
    expect(shown(event(Messages.FrScored.type, 'route', { score: 42.5, tier: 'standard', strategy: {}, reasons: [] }))).toBe(
      `${Messages.FrScored.type} route score 42.5, tier standard`,
    );
  });

  it('tells a PR opened from the same PR updated (a re-run trial read three "pr-opened" lines for one PR)', () => {
    const pr = { number: 1, url: 'http://forge/pr/1', branch: 'agency/FR-1-x', headSha: 'a'.repeat(40), draft: false };
    expect(shown(event(Messages.PrOpened.type, 'open-pr-r1', { ...pr, created: true }))).toBe(
      `${Messages.PrOpened.type} open-pr-r1 PR #1 opened: http://forge/pr/1`,
    );
    expect(shown(event(Messages.PrOpened.type, 'open-pr-r1', { ...pr, created: false }))).toBe(
      `${Messages.PrOpened.type} open-pr-r1 PR #1 description updated: http://forge/pr/1`,
    );
    expect(shown(event(Messages.PrOpened.type, 'open-pr-r1', { ...pr, draft: true, created: true }))).toContain('PR #1 opened as a draft');
  });

  it('keeps one line per event, and the generic details of the other events', () => {
    const line = eventLine(event(Messages.AgentStepFailed.type, 'code-r1', { reason: 'first\nsecond\n\nthird' }));
    expect(line).not.toContain('\n');
    expect(line.endsWith('code-r1  first second third')).toBe(true);
    expect(shown(event('orchestrator.state-changed', 'code-r1', { from: 'planning', to: 'coding' }))).toBe(
      'orchestrator.state-changed code-r1 planning -> coding',
    );
  });
});

describe('HeartbeatRepeats', () => {
  const beat = (message: string, step = 'code-r1', attempt = 1, sagaId = 'FR-1-r1') => ({
    ...event(Messages.AgentHeartbeat.type, step, { message }, attempt),
    sagaId,
  });

  it('leaves out a heartbeat that says what the last one of its step said (relay trial rou3: a third of the lines)', () => {
    const h = new HeartbeatRepeats();
    const said = [
      beat('coding FR-1, round 1: step 2/30: asking coder'),
      beat('coding FR-1, round 1: step 2/30: asking coder'),
      { ...event(Messages.LlmUsage.type, 'code-r1', usage), sagaId: 'FR-1-r1' },
      beat('coding FR-1, round 1: step 2/30: asking coder'),
      beat('coding FR-1, round 1: step 3/30: run_command'),
      beat('coding FR-1, round 1: step 2/30: asking coder'),
    ].map((e) => !h.repeats(e));
    expect(said).toEqual([true, false, true, false, true, true]);
  });

  it('keeps the first heartbeat of another step, attempt or run, even with the same text', () => {
    const h = new HeartbeatRepeats();
    expect(h.repeats(beat('running tests'))).toBe(false);
    expect(h.repeats(beat('running tests', 'test-r1'))).toBe(false);
    expect(h.repeats(beat('running tests', 'code-r1', 2))).toBe(false);
    expect(h.repeats(beat('running tests', 'code-r1', 1, 'FR-1-r2'))).toBe(false);
    expect(h.repeats(beat('running tests'))).toBe(true);
  });

  it('never leaves out another event, however alike', () => {
    const h = new HeartbeatRepeats();
    const failed = event(Messages.AgentStepFailed.type, 'code-r1', { reason: 'x' });
    expect([h.repeats(failed), h.repeats(failed)]).toEqual([false, false]);
  });
});
