import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import {
  Messages,
  type CodedEvent,
  type DeadLetteredEvent,
  type Envelope,
  type FrScoredEvent,
  type GateDecisionCommand,
  type HeartbeatEvent,
  type JobDispatchedEvent,
  type JobQueuedEvent,
  type LlmUsageEvent,
  type PlannedEvent,
  type PrClosedEvent,
  type PrMergedEvent,
  type PrOpenedEvent,
  type PrReviewedEvent,
  type ReviewedEvent,
  type StepFailedEvent,
  type TestedEvent,
} from '@agency/contracts';
import { OnMessage } from '@agency/messaging';
import { SagaService } from '../saga/saga.service.js';

/** Every event that moves a saga, handed to the saga service as it is. */
@Controller()
export class SagaEventsHandler {
  constructor(private readonly saga: SagaService) {}

  @OnMessage(Messages.FrScored.subject)
  scored(@Payload() env: Envelope<FrScoredEvent>) {
    return this.saga.handle({ kind: 'scored', env });
  }
  @OnMessage(Messages.JobQueued.subject)
  queued(@Payload() env: Envelope<JobQueuedEvent>) {
    return this.saga.handle({ kind: 'queued', env });
  }
  @OnMessage(Messages.JobDispatched.subject)
  dispatched(@Payload() env: Envelope<JobDispatchedEvent>) {
    return this.saga.handle({ kind: 'dispatched', env });
  }
  @OnMessage(Messages.Planned.subject)
  planned(@Payload() env: Envelope<PlannedEvent>) {
    return this.saga.handle({ kind: 'planned', env });
  }
  @OnMessage(Messages.Coded.subject)
  coded(@Payload() env: Envelope<CodedEvent>) {
    return this.saga.handle({ kind: 'coded', env });
  }
  @OnMessage(Messages.Tested.subject)
  tested(@Payload() env: Envelope<TestedEvent>) {
    return this.saga.handle({ kind: 'tested', env });
  }
  @OnMessage(Messages.Reviewed.subject)
  reviewed(@Payload() env: Envelope<ReviewedEvent>) {
    return this.saga.handle({ kind: 'reviewed', env });
  }
  @OnMessage(Messages.PrOpened.subject)
  prOpened(@Payload() env: Envelope<PrOpenedEvent>) {
    return this.saga.handle({ kind: 'pr-opened', env });
  }
  @OnMessage(Messages.PrMerged.subject)
  prMerged(@Payload() env: Envelope<PrMergedEvent>) {
    return this.saga.handle({ kind: 'pr-merged', env });
  }
  @OnMessage(Messages.PrClosed.subject)
  prClosed(@Payload() env: Envelope<PrClosedEvent>) {
    return this.saga.handle({ kind: 'pr-closed', env });
  }
  @OnMessage(Messages.PrReviewed.subject)
  prReviewed(@Payload() env: Envelope<PrReviewedEvent>) {
    return this.saga.handle({ kind: 'pr-reviewed', env });
  }
  @OnMessage(Messages.AgentHeartbeat.subject)
  heartbeat(@Payload() env: Envelope<HeartbeatEvent>) {
    return this.saga.handle({ kind: 'heartbeat', env });
  }
  @OnMessage(Messages.LlmUsage.subject)
  usage(@Payload() env: Envelope<LlmUsageEvent>) {
    return this.saga.handle({ kind: 'usage', env });
  }
  @OnMessage(Messages.GateApprove.subject)
  approve(@Payload() env: Envelope<GateDecisionCommand>) {
    return this.saga.handle({ kind: 'approve', env });
  }
  @OnMessage(Messages.GateReject.subject)
  reject(@Payload() env: Envelope<GateDecisionCommand>) {
    return this.saga.handle({ kind: 'reject', env });
  }

  // Step failures and dead letters of every service end the same way: the saga decides.
  @OnMessage(Messages.RouterStepFailed.subject)
  routerFailed(@Payload() env: Envelope<StepFailedEvent>) {
    return this.saga.handle({ kind: 'step-failed', env });
  }
  @OnMessage(Messages.AgentStepFailed.subject)
  agentFailed(@Payload() env: Envelope<StepFailedEvent>) {
    return this.saga.handle({ kind: 'step-failed', env });
  }
  @OnMessage(Messages.ReviewerStepFailed.subject)
  reviewerFailed(@Payload() env: Envelope<StepFailedEvent>) {
    return this.saga.handle({ kind: 'step-failed', env });
  }
  @OnMessage(Messages.GitStepFailed.subject)
  gitFailed(@Payload() env: Envelope<StepFailedEvent>) {
    return this.saga.handle({ kind: 'step-failed', env });
  }
  @OnMessage(Messages.RouterDeadLettered.subject)
  routerDead(@Payload() env: Envelope<DeadLetteredEvent>) {
    return this.saga.handle({ kind: 'dead-lettered', env });
  }
  @OnMessage(Messages.RegistryDeadLettered.subject)
  registryDead(@Payload() env: Envelope<DeadLetteredEvent>) {
    return this.saga.handle({ kind: 'dead-lettered', env });
  }
  @OnMessage(Messages.AgentDeadLettered.subject)
  agentDead(@Payload() env: Envelope<DeadLetteredEvent>) {
    return this.saga.handle({ kind: 'dead-lettered', env });
  }
  @OnMessage(Messages.ReviewerDeadLettered.subject)
  reviewerDead(@Payload() env: Envelope<DeadLetteredEvent>) {
    return this.saga.handle({ kind: 'dead-lettered', env });
  }
  @OnMessage(Messages.GitDeadLettered.subject)
  gitDead(@Payload() env: Envelope<DeadLetteredEvent>) {
    return this.saga.handle({ kind: 'dead-lettered', env });
  }
  @OnMessage(Messages.GatewayDeadLettered.subject)
  gatewayDead(@Payload() env: Envelope<DeadLetteredEvent>) {
    return this.saga.handle({ kind: 'dead-lettered', env });
  }
  @OnMessage(Messages.OrchestratorDeadLettered.subject)
  orchestratorDead(@Payload() env: Envelope<DeadLetteredEvent>) {
    return this.saga.handle({ kind: 'dead-lettered', env });
  }
}
