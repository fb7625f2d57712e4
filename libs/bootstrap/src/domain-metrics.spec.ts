import type { Envelope } from '@agency/contracts';
import { DomainMetrics, stepLabel } from './domain-metrics.js';
import { Metrics } from './metrics.js';

const env = (type: string, payload: unknown, step = 'code-r2'): Envelope<unknown> =>
  ({ id: 'e', type, version: 1, frId: 'FR-1', sagaId: 's-1', step, attempt: 1, occurredAt: '2026-12-02T00:00:00Z', payload }) as Envelope<unknown>;

describe('DomainMetrics', () => {
  it('counts what a service handled by message type and outcome, the step’s duration, and a command’s first wait', async () => {
    const metrics = new Metrics('agent-runner');
    const domain = new DomainMetrics(metrics);
    domain.handled({ type: 'agent-runner.code', kind: 'cmd', outcome: 'ok', durationMs: 90_000, queuedMs: 4000, deliveries: 1 });
    domain.handled({ type: 'agent-runner.code', kind: 'cmd', outcome: 'retry', durationMs: 500, queuedMs: 60_000, deliveries: 2 });
    const text = await metrics.registry.metrics();
    expect(text).toContain('agency_messages_handled_total{message="agent-runner.code",outcome="ok",service="agent-runner"} 1');
    expect(text).toContain('agency_messages_handled_total{message="agent-runner.code",outcome="retry",service="agent-runner"} 1');
    expect(text).toContain('agency_message_handle_seconds_bucket{le="180",service="agent-runner",message="agent-runner.code",outcome="ok"} 1');
    // Only the first delivery's wait: a redelivery's includes the failed attempt.
    expect(text).toContain('agency_command_queue_wait_seconds_count{service="agent-runner",message="agent-runner.code"} 1');
  });

  it('reads FR outcomes and cost, step failures by code, queue wait, tests, reviews and PR news from published events, with bounded labels', async () => {
    const metrics = new Metrics('orchestrator');
    const domain = new DomainMetrics(metrics);
    domain.published(env('orchestrator.fr-state-changed', { from: 'awaiting-merge', to: 'done', costUsd: 0.42, traceId: 't' }));
    domain.published(env('orchestrator.fr-state-changed', { from: 'coding', to: 'testing', costUsd: 0.1, traceId: 't' }));
    domain.published(env('agent-runner.step-failed', { code: 'SANDBOX_DISK_LIMIT', reason: 'x', retryable: false }, 'test-r3'));
    domain.published(env('git-service.step-failed', { code: 'weird code!', reason: 'x', retryable: true }, 'merge'));
    domain.published(env('registry.dispatched', { jobId: 'j', waitedMs: 45_000 }));
    domain.published(env('agent-runner.tested', { round: 1, passed: false, exitCode: 1, timedOut: true }));
    domain.published(env('reviewer.reviewed', { verdict: 'approve' }));
    domain.published(env('git-service.pr-merged', { number: 1 }));
    domain.published(env('router.scored', { score: 3 }));
    const text = await metrics.registry.metrics();
    expect(text).toContain('agency_fr_transitions_total{from="awaiting-merge",to="done",service="orchestrator"} 1');
    expect(text).toContain('agency_frs_finished_total{outcome="done",service="orchestrator"} 1');
    expect(text).not.toContain('agency_frs_finished_total{outcome="testing"');
    expect(text).toContain('agency_fr_cost_usd_bucket{le="0.5",service="orchestrator",outcome="done"} 1');
    expect(text).toContain('agency_step_failures_total{step="test",code="SANDBOX_DISK_LIMIT",retryable="false",service="orchestrator"} 1');
    expect(text).toContain('agency_step_failures_total{step="merge",code="other",retryable="true",service="orchestrator"} 1');
    expect(text).toContain('agency_job_queue_wait_seconds_bucket{le="120",service="orchestrator"} 1');
    expect(text).toContain('agency_test_runs_total{result="timed_out",service="orchestrator"} 1');
    expect(text).toContain('agency_reviews_total{verdict="approve",service="orchestrator"} 1');
    expect(text).toContain('agency_pr_events_total{event="pr-merged",service="orchestrator"} 1');
    expect(text).not.toMatch(/FR-1|s-1/);
  });

  it('labels steps without their round numbers', () => {
    expect(['code-r2', 'pr-r1', 'fix-3', 'plan', 'open-pr', 'test-r10'].map(stepLabel)).toEqual(['code', 'pr', 'fix', 'plan', 'open-pr', 'test']);
  });
});
