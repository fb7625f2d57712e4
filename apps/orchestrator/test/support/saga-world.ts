// A small world around one saga for the property tests: the services answer its commands (every
// possible answer is queued, and the test picks which arrives, in any order, again and again),
// people act on it, the process crashes between saving and carrying out, and a model forge keeps
// the FR's PRs. It records every effect decided and carried out, and the invariants broken.
import { Messages, validateMessage, type Envelope, type SagaState } from '@agency/contracts';
import { sampleEnvelope, samplePayloads, sampleWorkspace } from '@agency/contracts/testing';
import { isDue, type Effect } from '../../src/saga/effects.js';
import { decide, draftPrStep, isOver, isStopped, type MachineSettings, type SagaEvent } from '../../src/saga/saga.machine.js';
import type { SagaRecord } from '../../src/saga/saga.model.js';
import { draftPrCommand, refreshPrCommand, stepCommand } from '../../src/saga/saga.steps.js';
import { record, settings } from './saga.fixtures.js';

export const ACTIONS = [
  'deliver',
  'redeliver',
  'crash',
  'cancel',
  'retry',
  'approve-plan',
  'reject-plan',
  'approve-pr',
  'reject-pr',
  'changes-requested',
  'close-pr',
  'merge-pr',
  'usage',
  'timeout',
  'tick',
] as const;
export type Action = { action: (typeof ACTIONS)[number]; pick: number; variant: number };

interface ForgePr {
  number: number;
  state: 'open' | 'closed' | 'merged';
  jobId: string;
}

let uuid = 0;
function envelope(
  name: Parameters<typeof sampleEnvelope>[0],
  at: { step: string; attempt: number; jobId?: string },
  patch: Record<string, unknown> = {},
): Envelope<Record<string, unknown>> {
  uuid += 1;
  const env = sampleEnvelope(name, { sagaId: 'saga-1', step: at.step, attempt: at.attempt, ...(at.jobId ? { jobId: at.jobId } : {}) }) as unknown as Envelope<
    Record<string, unknown>
  >;
  env.id = `00000000-0000-4000-8000-${uuid.toString(16).padStart(12, '0')}`;
  env.payload = { ...env.payload, ...patch };
  return env;
}

const evt = (kind: SagaEvent['kind'], env: Envelope<Record<string, unknown>>) => ({ kind, env }) as unknown as SagaEvent;

export class SagaWorld {
  record: SagaRecord;
  readonly decided = new Map<string, Effect>();
  readonly carriedOut = new Map<string, number>();
  readonly superseded = new Set<string>();
  readonly inbox: SagaEvent[] = [];
  readonly delivered: SagaEvent[] = [];
  readonly prs: ForgePr[] = [];
  readonly jobsEnqueued = new Set<string>();
  readonly violations: string[] = [];
  private nowMs = Date.parse('2026-11-24T10:00:00Z');
  private crashNext = false;
  private readonly usagePool: Envelope<Record<string, unknown>>[] = [];

  constructor(private readonly base: Partial<MachineSettings> = {}) {
    this.record = record('discovered', 'route', { jobId: undefined, round: 0, strategy: undefined, seq: 0, tries: { route: 1 } });
    this.carry(this.record.outbox);
    this.inbox.push(...this.answersTo({ id: 'start', seq: 0, kind: 'step', step: 'route', attempt: 1 }));
  }

  private settings(): MachineSettings {
    return { ...settings, retryBackoffMs: 1000, ...this.base, now: new Date(this.nowMs) };
  }

  /** Carries out the due effects of the outbox, as the interpreter does; a crash stops after the first. */
  private flush(crash = false): void {
    const due = this.record.outbox.filter((e) => isDue(e, this.nowMs));
    const done = crash ? due.slice(0, 1) : due;
    this.carry(done);
    const ids = new Set(done.map((e) => e.id));
    this.record = { ...this.record, outbox: this.record.outbox.filter((e) => !ids.has(e.id)) };
  }

  private carry(effects: Effect[]): void {
    for (const e of effects) {
      this.carriedOut.set(e.id, (this.carriedOut.get(e.id) ?? 0) + 1);
      this.inbox.push(...this.answersTo(e));
    }
  }

  apply(event: SagaEvent): void {
    this.flush();
    const d = decide(this.record, event, this.settings());
    this.nowMs += 1000;
    if (d.kind === 'ignore') return;
    for (const e of d.effects) {
      if (this.decided.has(e.id)) this.violations.push(`effect id ${e.id} decided twice (${this.decided.get(e.id)!.kind}, ${e.kind})`);
      this.decided.set(e.id, e);
    }
    for (const id of d.superseded ?? []) this.superseded.add(id);
    this.record = d.next;
    this.flush(this.crashNext);
    this.crashNext = false;
    this.check();
  }

  /** Runs one generated action. */
  act(a: Action): void {
    const r = this.record;
    const ids = { sagaId: r.sagaId, step: r.step, attempt: r.attempt };
    const gate = (kind: 'approve' | 'reject', g: 'plan' | 'pr') =>
      evt(kind, envelope(kind === 'approve' ? 'GateApprove' : 'GateReject', ids, { gate: g, by: 'ada' }));
    const human = (name: 'PrClosed' | 'PrMerged' | 'PrReviewed', kind: SagaEvent['kind'], patch: Record<string, unknown>) =>
      evt(kind, envelope(name, { step: 'merge', attempt: 1, ...(r.jobId ? { jobId: r.jobId } : {}) }, { number: r.pr?.number ?? 1, ...patch }));
    switch (a.action) {
      case 'deliver': {
        if (this.inbox.length === 0) return;
        const [e] = this.inbox.splice(a.pick % this.inbox.length, 1);
        this.delivered.push(e!);
        return this.apply(e!);
      }
      case 'redeliver':
        if (this.delivered.length > 0) this.apply(this.delivered[a.pick % this.delivered.length]!);
        return;
      case 'crash':
        this.crashNext = true;
        return;
      case 'cancel':
        return this.apply({ kind: 'cancel', env: ids, by: 'ada', reason: 'not now' });
      case 'retry':
        return this.apply({ kind: 'retry', env: ids, by: 'ada' });
      case 'approve-plan':
        return this.apply(gate('approve', 'plan'));
      case 'reject-plan':
        return this.apply(gate('reject', 'plan'));
      case 'approve-pr':
        return this.apply(gate('approve', 'pr'));
      case 'reject-pr':
        return this.apply(gate('reject', 'pr'));
      case 'changes-requested':
        return this.apply(human('PrReviewed', 'pr-reviewed', { state: 'changes_requested', author: 'ada', body: `fix ${a.variant}` }));
      case 'close-pr':
        return this.personOnPr('closed', human('PrClosed', 'pr-closed', {}));
      case 'merge-pr':
        return this.personOnPr('merged', human('PrMerged', 'pr-merged', { mergeSha: 'f'.repeat(40) }));
      case 'usage':
        return this.usage(a);
      case 'timeout':
        return this.apply({ kind: 'timeout', env: ids, reason: 'was quiet' });
      case 'tick':
        this.nowMs += 60_000;
        return this.apply({ kind: 'heartbeat', env: envelope('AgentHeartbeat', ids) } as unknown as SagaEvent);
    }
  }

  private usage(a: Action): void {
    // Some usage events come again (a redelivery after a crash): the same id.
    const again = a.variant % 3 === 0 && this.usagePool.length > 0;
    const env = again
      ? this.usagePool[a.pick % this.usagePool.length]!
      : envelope('LlmUsage', { step: this.record.step, attempt: 1 }, { costUsd: (a.variant % 7) * 0.4 });
    if (!again) this.usagePool.push(env);
    this.apply(evt('usage', env));
  }

  /** A person closes or merges the open PR on the forge; the forge tells the saga. */
  private personOnPr(state: 'closed' | 'merged', e: SagaEvent): void {
    const open = this.prs.find((p) => p.state === 'open');
    if (!open) return;
    open.state = state;
    (e.env as Envelope<{ number: number }>).payload.number = open.number;
    this.apply(e);
  }

  /** The model forge's open-pr: update the open PR, answer from this job's ended one, or open a new one. */
  private openPr(jobId: string): ForgePr {
    const open = this.prs.find((p) => p.state === 'open');
    if (open) return Object.assign(open, { jobId });
    const ended = this.prs.filter((p) => p.state === 'merged' || p.jobId === jobId).at(-1);
    if (ended) return ended;
    const pr: ForgePr = { number: this.prs.length + 1, state: 'open', jobId };
    this.prs.push(pr);
    return pr;
  }

  /** Every answer a service could give to an effect; the test picks which one arrives. */
  private answersTo(e: Effect): SagaEvent[] {
    const r = this.record;
    const at = { step: e.kind === 'step' ? e.step : r.step, attempt: e.kind === 'step' ? e.attempt : r.attempt, ...(r.jobId ? { jobId: r.jobId } : {}) };
    const failed = (retryable: boolean) =>
      evt('step-failed', envelope('AgentStepFailed', at, { code: retryable ? 'SANDBOX_BUSY' : 'LLM_ANSWER_INVALID', reason: 'x', retryable }));
    switch (e.kind) {
      case 'step':
        return this.stepAnswers(e, at, failed);
      case 'draft-pr': {
        this.validate(Messages.OpenPr, draftPrCommand(r, undefined)?.payload, draftPrStep(e.round));
        const pr = this.openPr(r.jobId ?? '');
        return [
          evt(
            'pr-opened',
            envelope(
              'PrOpened',
              { step: draftPrStep(e.round), attempt: r.lap, ...(r.jobId ? { jobId: r.jobId } : {}) },
              { number: pr.number, draft: true, created: false },
            ),
          ),
        ];
      }
      case 'refresh-pr': {
        const step = `${draftPrStep(e.round)}-cost-${e.seq}`;
        this.validate(Messages.OpenPr, refreshPrCommand(r, undefined)?.payload, step);
        const pr = this.prs.find((p) => p.number === r.pr?.number);
        if (!pr) return [];
        return [
          evt(
            'pr-opened',
            envelope('PrOpened', { step, attempt: r.lap, ...(r.jobId ? { jobId: r.jobId } : {}) }, { number: pr.number, draft: r.pr!.draft, created: false }),
          ),
        ];
      }
      case 'close-pr': {
        const pr = this.prs.find((p) => p.number === e.number);
        if (pr?.state === 'open') pr.state = 'closed';
        return [];
      }
      case 'close-branch':
        for (const p of this.prs) if (p.state === 'open') p.state = 'closed';
        return [];
      case 'complete-job':
      case 'cleanup':
      case 'fr-file':
      case 'state-changed':
        return [];
    }
  }

  private stepAnswers(
    e: Extract<Effect, { kind: 'step' }>,
    at: { step: string; attempt: number; jobId?: string },
    failed: (retryable: boolean) => SagaEvent,
  ): SagaEvent[] {
    const r = this.record;
    const cmd = stepCommand(r, undefined);
    if (cmd) this.validate(cmd.def, cmd.payload, e.step);
    const workspace = { ...sampleWorkspace(), headSha: (r.seq % 16).toString(16).repeat(40) };
    switch (r.state as SagaState) {
      case 'discovered':
        return [evt('scored', envelope('FrScored', at)), evt('step-failed', envelope('RouterStepFailed', at, { code: 'X', reason: 'x', retryable: false }))];
      case 'routed':
        if (r.jobId) this.jobsEnqueued.add(r.jobId);
        return [evt('queued', envelope('JobQueued', at, { jobId: r.jobId })), evt('dispatched', envelope('JobDispatched', at, { jobId: r.jobId }))];
      case 'planning':
        return [evt('planned', envelope('Planned', at)), failed(true), failed(false)];
      case 'coding':
      case 'fixing':
        return [
          evt('coded', envelope('Coded', at, { round: r.round, workspace })),
          evt('coded', envelope('Coded', at, { round: r.round, workspace, stopped: { code: 'STEP_LIMIT', reason: 'reached 40 steps' } })),
          failed(true),
        ];
      case 'testing':
        return [
          evt('tested', envelope('Tested', at, { round: r.round })),
          evt('tested', envelope('Tested', at, { round: r.round, passed: false, exitCode: 1 })),
          failed(true),
        ];
      case 'reviewing':
        return [
          evt('reviewed', envelope('Reviewed', at, { round: r.round, findings: [] })),
          evt(
            'reviewed',
            envelope('Reviewed', at, {
              round: r.round,
              verdict: 'request-changes',
              findings: [{ ...samplePayloads.Reviewed.findings[0]!, message: `finding ${r.seq}` }],
            }),
          ),
          evt('reviewed', envelope('Reviewed', at, { round: r.round, verdict: 'reject', summary: 'no' })),
        ];
      case 'opening-pr': {
        const pr = this.openPr(r.jobId ?? '');
        return [evt('pr-opened', envelope('PrOpened', at, { number: pr.number, draft: r.draftReason !== undefined, created: false }))];
      }
      case 'awaiting-merge': {
        const pr = this.prs.find((p) => p.number === r.pr?.number && p.state === 'open');
        if (pr) pr.state = 'merged';
        return [
          evt('pr-merged', envelope('PrMerged', at, { number: r.pr?.number ?? 1 })),
          evt('step-failed', envelope('GitStepFailed', at, { code: 'CHECKS_FAILING', reason: 'red', retryable: false })),
        ];
      }
      default:
        return [];
    }
  }

  private validate(def: (typeof Messages)[keyof typeof Messages], payload: unknown, step: string): void {
    if (payload === undefined) {
      this.violations.push(`no command to render for ${step} in ${this.record.state}`);
      return;
    }
    const checked = validateMessage(def, { ...sampleEnvelope('Plan', { step }), type: def.type, payload });
    if (!checked.ok) this.violations.push(`invalid ${def.type} for ${step}: ${checked.error.message}`);
  }

  /** Invariants that hold after every event. */
  private check(): void {
    const open = this.prs.filter((p) => p.state === 'open');
    if (open.length > 1) this.violations.push(`${open.length} open PRs for one FR: ${open.map((p) => p.number).join(', ')}`);
  }

  /** The end: whatever the outbox holds is carried out (time passes for backed-off retries), then the final invariants. */
  settle(): void {
    this.nowMs += 3600_000;
    this.flush();
    for (const [id, e] of this.decided) {
      if (this.carriedOut.has(id) === this.superseded.has(id))
        this.violations.push(
          `effect ${id} (${e.kind}) was ${this.carriedOut.has(id) ? 'carried out although superseded' : 'decided but neither carried out nor superseded'}`,
        );
      if (e.kind === 'step' && this.superseded.has(id) && !e.notBefore) this.violations.push(`effect ${id} was superseded but was not a backed-off retry`);
    }
    const r = this.record;
    if (isOver(r.state)) {
      const completed = new Set([...this.decided.values()].flatMap((e) => (e.kind === 'complete-job' ? [e.jobId] : [])));
      for (const job of this.jobsEnqueued) if (!completed.has(job)) this.violations.push(`the run is ${r.state} but job ${job} was never completed`);
    }
    if (isStopped(r.state) && this.prs.some((p) => p.state === 'open')) this.violations.push(`the run is ${r.state} but its PR is still open`);
  }
}
