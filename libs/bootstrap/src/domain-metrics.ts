import type {
  Envelope,
  FrRefusedEvent,
  FrStateChangedEvent,
  JobDispatchedEvent,
  JobFinishedEvent,
  ReviewedEvent,
  StepFailedEvent,
  TestedEvent,
} from '@agency/contracts';
import { TERMINAL_SAGA_STATES } from '@agency/contracts';
import type { HandledMessage, MessageObserver } from '@agency/messaging';
import type { Metrics } from './metrics.js';

/** Step durations run from milliseconds (a PR update) to an hour (a coding round). */
const DURATION_BUCKETS = [0.05, 0.25, 1, 5, 15, 60, 180, 600, 1800, 3600];
const WAIT_BUCKETS = [0.1, 1, 5, 30, 120, 600, 1800, 3600, 4 * 3600, 24 * 3600];
const COST_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 25];

/** A saga step as a label: `code-r2`, `pr-r1`, `fix-3` are `code`, `pr`, `fix` (rounds would make labels unbounded). */
export function stepLabel(step: string): string {
  return step.replace(/(?:-r?\d+)+$/, '').slice(0, 40) || 'none';
}

/** A failure code as a label: GitHub and git codes are a fixed set in the code; anything odd is `other`. */
function codeLabel(code: string): string {
  return /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : 'other';
}

/**
 * The agency's work as Prometheus metrics, in every service: what it handled (per message type:
 * count, duration, which is a step's duration for the step commands, and how long a command
 * waited in its queue) through the transport, and what its events say (FRs' transitions and
 * outcomes, their cost, jobs' queue wait, test runs, reviews, step failures by code, PR news,
 * refused FR files) through the publisher. Labels are message types, states, outcomes and codes:
 * fixed sets, never ids.
 */
export class DomainMetrics implements MessageObserver {
  constructor(private readonly metrics: Metrics) {}

  handled(m: HandledMessage): void {
    const labels = { message: m.type, outcome: m.outcome };
    this.metrics
      .counter('agency_messages_handled_total', 'Messages this service handled, by type and outcome (ok, retry, dead-letter)', ['message', 'outcome'])
      .inc(labels);
    this.metrics
      .histogram('agency_message_handle_seconds', 'How long handling a message took (for step commands: the step)', ['message', 'outcome'], DURATION_BUCKETS)
      .observe(labels, m.durationMs / 1000);
    if (m.kind === 'cmd' && m.deliveries === 1 && m.queuedMs !== undefined) {
      this.metrics
        .histogram('agency_command_queue_wait_seconds', 'How long a command waited on the bus before this service took it', ['message'], WAIT_BUCKETS)
        .observe({ message: m.type }, Math.max(0, m.queuedMs) / 1000);
    }
  }

  /** An event this service published (a duplicate that JetStream dropped is not counted). */
  published(env: Envelope<unknown>): void {
    const [, name] = env.type.split('.', 2) as [string, string | undefined];
    switch (name) {
      case 'step-failed': {
        const p = env.payload as StepFailedEvent;
        this.metrics
          .counter('agency_step_failures_total', 'Step failures reported to the saga, by step and code', ['step', 'code', 'retryable'])
          .inc({ step: stepLabel(env.step), code: codeLabel(p.code), retryable: String(p.retryable) });
        return;
      }
      case 'fr-state-changed':
        return this.frStateChanged(env.payload as FrStateChangedEvent);
      case 'fr-refused':
        this.metrics.counter('agency_frs_refused_total', 'FR files the intake refused, by code', ['code']).inc({ code: (env.payload as FrRefusedEvent).code });
        return;
      case 'dispatched':
        this.metrics
          .histogram('agency_job_queue_wait_seconds', 'How long a job waited in the registry queue before it was dispatched', [], WAIT_BUCKETS)
          .observe((env.payload as JobDispatchedEvent).waitedMs / 1000);
        return;
      case 'finished':
        this.metrics
          .counter('agency_jobs_finished_total', 'Jobs finished, by outcome', ['outcome'])
          .inc({ outcome: (env.payload as JobFinishedEvent).outcome });
        return;
      case 'tested': {
        const p = env.payload as TestedEvent;
        const result = p.timedOut ? 'timed_out' : p.passed ? 'passed' : 'failed';
        this.metrics.counter('agency_test_runs_total', 'Test runs of the test step, by result', ['result']).inc({ result });
        return;
      }
      case 'reviewed':
        this.metrics
          .counter('agency_reviews_total', 'Reviews by the reviewer, by verdict', ['verdict'])
          .inc({ verdict: (env.payload as ReviewedEvent).verdict });
        return;
      case 'pr-opened':
      case 'pr-merged':
      case 'pr-closed':
      case 'pr-reviewed':
        this.metrics.counter('agency_pr_events_total', 'Pull request news on the bus, by event', ['event']).inc({ event: name });
        return;
      default:
        return;
    }
  }

  private frStateChanged(p: FrStateChangedEvent): void {
    this.metrics.counter('agency_fr_transitions_total', 'FR state changes, by from and to state', ['from', 'to']).inc({ from: p.from, to: p.to });
    if (!TERMINAL_SAGA_STATES.includes(p.to)) return;
    this.metrics.counter('agency_frs_finished_total', 'FRs that reached an end state (done, failed, cancelled, blocked)', ['outcome']).inc({ outcome: p.to });
    this.metrics
      .histogram('agency_fr_cost_usd', 'Model cost of an FR when it reached an end state, in USD', ['outcome'], COST_BUCKETS)
      .observe({ outcome: p.to }, p.costUsd);
  }
}
