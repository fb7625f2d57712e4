import { IsIn, IsNumber, IsOptional, IsString, MaxLength, Min, MinLength } from 'class-validator';

export const SAGA_STATES = [
  'discovered',
  'routed',
  'queued',
  'planning',
  'awaiting-plan-approval',
  'coding',
  'testing',
  'reviewing',
  'fixing',
  'opening-pr',
  'awaiting-merge',
  'done',
  'failed',
  'cancelled',
  'blocked',
] as const;
export type SagaState = (typeof SAGA_STATES)[number];
export const TERMINAL_SAGA_STATES: readonly SagaState[] = ['done', 'failed', 'cancelled', 'blocked'];

/** agency.evt.orchestrator.fr-state-changed.v1 */
export class FrStateChangedEvent {
  @IsIn(SAGA_STATES)
  from!: SagaState;

  @IsIn(SAGA_STATES)
  to!: SagaState;

  @IsOptional()
  @IsString()
  @MaxLength(5000)
  reason?: string;

  @IsOptional()
  @IsString()
  prUrl?: string;

  @IsNumber()
  @Min(0)
  costUsd!: number;

  @IsString()
  traceId!: string;
}

/** agency.cmd.orchestrator.approve.v1 / reject.v1: a human's decision at a gate. */
export class GateDecisionCommand {
  @IsIn(['plan', 'pr'])
  gate!: 'plan' | 'pr';

  @IsString()
  @MinLength(1)
  @MaxLength(200)
  by!: string;

  @IsOptional()
  @IsString()
  @MaxLength(5000)
  comment?: string;
}
