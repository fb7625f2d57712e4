import { breakerVerdict, CircuitBreaker } from './circuit-breaker.js';

const settings = { breakerCooldownMs: 1000, breakerFailures: 3 };

describe('CircuitBreaker', () => {
  it('classifies outcomes by what they say about the target', () => {
    expect(['upstream_timeout', 'upstream_unreachable', 'upstream_auth_failed'].map(breakerVerdict)).toEqual(['hard', 'hard', 'hard']);
    expect(['upstream_error', 'upstream_overloaded', 'upstream_stalled', 'upstream_stream_truncated'].map(breakerVerdict)).toEqual([
      'soft',
      'soft',
      'soft',
      'soft',
    ]);
    expect(['upstream_rate_limited', 'upstream_rejected'].map(breakerVerdict)).toEqual(['alive', 'alive']);
    expect(['cancelled', 'local_rate_limited', 'deadline_exceeded'].map(breakerVerdict)).toEqual(['none', 'none', 'none']);
  });

  it('opens at once on a hard failure, for the cool-down, then lets one probe through', () => {
    const b = new CircuitBreaker();
    expect(b.admit(0)).toEqual({ ok: true, probe: false });
    expect(b.record('upstream_timeout', false, 100, settings)).toBe(true);
    expect(b.admit(500)).toEqual({ ok: false, retryInMs: 600 });
    expect(b.isOpen(500)).toBe(true);
    expect(b.admit(1100)).toEqual({ ok: true, probe: true });
    // While the probe runs, the others still skip the target.
    expect(b.admit(1200)).toEqual({ ok: false, retryInMs: 0 });
    expect(b.record('ok', true, 0, settings)).toBe(false);
    expect(b.admit(1300)).toEqual({ ok: true, probe: false });
    expect(b.isOpen(1300)).toBe(false);
  });

  it('opens after soft failures in a row only, and an answer in between resets the count', () => {
    const b = new CircuitBreaker();
    b.record('upstream_error', false, 0, settings);
    b.record('upstream_error', false, 0, settings);
    b.record('upstream_rate_limited', false, 0, settings);
    b.record('upstream_error', false, 0, settings);
    expect(b.admit(10).ok).toBe(true);
    b.record('upstream_overloaded', false, 10, settings);
    expect(b.record('upstream_stalled', false, 20, settings)).toBe(true);
    expect(b.admit(30)).toEqual({ ok: false, retryInMs: 990 });
  });

  it('doubles the cool-down while probes keep failing, up to eight times, and forgets a cancelled probe', () => {
    const b = new CircuitBreaker();
    let now = 0;
    const cooldowns: number[] = [];
    b.record('upstream_unreachable', false, now, settings);
    for (let i = 0; i < 5; i += 1) {
      const gate = b.admit(now);
      expect(gate.ok).toBe(false);
      now += (gate as { retryInMs: number }).retryInMs;
      cooldowns.push((gate as { retryInMs: number }).retryInMs);
      expect(b.admit(now)).toEqual({ ok: true, probe: true });
      b.record('upstream_error', true, now, settings);
    }
    expect(cooldowns).toEqual([1000, 2000, 4000, 8000, 8000]);
    now += 8000;
    expect(b.admit(now)).toEqual({ ok: true, probe: true });
    b.record('cancelled', true, now, settings);
    expect(b.admit(now)).toEqual({ ok: true, probe: true });
  });
});
