import type { Envelope, MessageKind } from './envelope.js';
import {
  CleanedEvent,
  CleanupCommand,
  CodeCommand,
  CodedEvent,
  HeartbeatEvent,
  PlanCommand,
  PlannedEvent,
  TestCommand,
  TestedEvent,
} from './messages/agent-runner.messages.js';
import { DeadLetteredEvent, StepFailedEvent } from './messages/common.messages.js';
import {
  BranchDeletedEvent,
  ClosePrCommand,
  DeleteBranchCommand,
  MergePrCommand,
  OpenPrCommand,
  PrClosedEvent,
  PrMergedEvent,
  PrOpenedEvent,
  PrReviewedEvent,
} from './messages/git-service.messages.js';
import { LlmUsageEvent } from './messages/llm-gateway.messages.js';
import { FrRefusedEvent, FrStateChangedEvent, GateDecisionCommand } from './messages/orchestrator.messages.js';
import { CancelJobCommand, CompleteJobCommand, EnqueueJobCommand, JobDispatchedEvent, JobFinishedEvent, JobQueuedEvent } from './messages/registry.messages.js';
import { ReviewCommand, ReviewedEvent } from './messages/reviewer.messages.js';
import { FrScoredEvent, ScoreFrCommand } from './messages/router.messages.js';
import { commandSubject, eventSubject, type ServiceName } from './subjects.js';

export interface MessageDef<P extends object = object, T extends string = string> {
  readonly kind: MessageKind;
  readonly service: ServiceName;
  /** `<service>.<name>`, the envelope's `type`. */
  readonly type: T;
  readonly version: number;
  readonly subject: string;
  readonly payload: new () => P;
  /**
   * Validated by a check compiled from the payload's decorators (compiled-check.ts) instead of
   * validateSync: for a message sent once per request, where validateSync would cost more than
   * the rest of the request's bookkeeping. Same verdict (validate.spec.ts proves it per type).
   */
  readonly precompiled?: boolean;
}

export type PayloadOf<D> = D extends MessageDef<infer P> ? P : never;

function cmd<P extends object, S extends ServiceName, N extends string>(service: S, name: N, payload: new () => P) {
  return { kind: 'cmd', service, type: `${service}.${name}`, version: 1, subject: commandSubject(service, name, 1), payload } as const satisfies MessageDef<P>;
}

function evt<P extends object, S extends ServiceName, N extends string>(service: S, name: N, payload: new () => P, options: { precompiled?: boolean } = {}) {
  return {
    kind: 'evt',
    service,
    type: `${service}.${name}`,
    version: 1,
    subject: eventSubject(service, name, 1),
    payload,
    ...options,
  } as const satisfies MessageDef<P>;
}

/** Every message of the pipeline, one entry each: the single list transports and tests iterate. */
export const Messages = {
  // orchestrator
  GateApprove: cmd('orchestrator', 'approve', GateDecisionCommand),
  GateReject: cmd('orchestrator', 'reject', GateDecisionCommand),
  FrStateChanged: evt('orchestrator', 'fr-state-changed', FrStateChangedEvent),
  FrRefused: evt('orchestrator', 'fr-refused', FrRefusedEvent),
  // router
  ScoreFr: cmd('router', 'score', ScoreFrCommand),
  FrScored: evt('router', 'scored', FrScoredEvent),
  RouterStepFailed: evt('router', 'step-failed', StepFailedEvent),
  // registry
  EnqueueJob: cmd('registry', 'enqueue', EnqueueJobCommand),
  CompleteJob: cmd('registry', 'complete', CompleteJobCommand),
  CancelJob: cmd('registry', 'cancel', CancelJobCommand),
  JobQueued: evt('registry', 'queued', JobQueuedEvent),
  JobDispatched: evt('registry', 'dispatched', JobDispatchedEvent),
  JobFinished: evt('registry', 'finished', JobFinishedEvent),
  // agent-runner
  Plan: cmd('agent-runner', 'plan', PlanCommand),
  Code: cmd('agent-runner', 'code', CodeCommand),
  Test: cmd('agent-runner', 'test', TestCommand),
  Cleanup: cmd('agent-runner', 'cleanup', CleanupCommand),
  Planned: evt('agent-runner', 'planned', PlannedEvent),
  Coded: evt('agent-runner', 'coded', CodedEvent),
  Tested: evt('agent-runner', 'tested', TestedEvent),
  Cleaned: evt('agent-runner', 'cleaned', CleanedEvent),
  AgentHeartbeat: evt('agent-runner', 'heartbeat', HeartbeatEvent),
  AgentStepFailed: evt('agent-runner', 'step-failed', StepFailedEvent),
  // reviewer
  Review: cmd('reviewer', 'review', ReviewCommand),
  Reviewed: evt('reviewer', 'reviewed', ReviewedEvent),
  ReviewerStepFailed: evt('reviewer', 'step-failed', StepFailedEvent),
  // git-service
  OpenPr: cmd('git-service', 'open-pr', OpenPrCommand),
  MergePr: cmd('git-service', 'merge', MergePrCommand),
  ClosePr: cmd('git-service', 'close-pr', ClosePrCommand),
  DeleteBranch: cmd('git-service', 'delete-branch', DeleteBranchCommand),
  PrOpened: evt('git-service', 'pr-opened', PrOpenedEvent),
  PrMerged: evt('git-service', 'pr-merged', PrMergedEvent),
  PrClosed: evt('git-service', 'pr-closed', PrClosedEvent),
  PrReviewed: evt('git-service', 'pr-reviewed', PrReviewedEvent),
  BranchDeleted: evt('git-service', 'branch-deleted', BranchDeletedEvent),
  GitStepFailed: evt('git-service', 'step-failed', StepFailedEvent),
  // llm-gateway
  // One per model call that names an FR: thousands a second at full load.
  LlmUsage: evt('llm-gateway', 'usage', LlmUsageEvent, { precompiled: true }),
  // any service's transport, when it gives up on a message
  OrchestratorDeadLettered: evt('orchestrator', 'dead-lettered', DeadLetteredEvent),
  RouterDeadLettered: evt('router', 'dead-lettered', DeadLetteredEvent),
  RegistryDeadLettered: evt('registry', 'dead-lettered', DeadLetteredEvent),
  AgentDeadLettered: evt('agent-runner', 'dead-lettered', DeadLetteredEvent),
  ReviewerDeadLettered: evt('reviewer', 'dead-lettered', DeadLetteredEvent),
  GitDeadLettered: evt('git-service', 'dead-lettered', DeadLetteredEvent),
  GatewayDeadLettered: evt('llm-gateway', 'dead-lettered', DeadLetteredEvent),
} as const;

export type MessageName = keyof typeof Messages;
export type AnyMessageDef = (typeof Messages)[MessageName];

/** Subject -> envelope type, for NestJS 12's typed `@EventPattern<BusMessages>(subject)`. */
export type BusMessages = { [K in MessageName as (typeof Messages)[K]['subject']]: Envelope<PayloadOf<(typeof Messages)[K]>> };

const bySubject: ReadonlyMap<string, AnyMessageDef> = new Map(Object.values(Messages).map((d) => [d.subject, d]));

export function messageDefForSubject(subject: string): AnyMessageDef | undefined {
  return bySubject.get(subject);
}

export function deadLetteredDefFor(service: ServiceName): AnyMessageDef | undefined {
  return messageDefForSubject(eventSubject(service, 'dead-lettered'));
}
