import { IsIn, IsInt, IsOptional, IsString, MaxLength, Min, MinLength } from 'class-validator';
import { PRIORITIES, type Priority } from '../common.dto.js';

/** agency.cmd.registry.enqueue.v1 */
export class EnqueueJobCommand {
  @IsString()
  @MinLength(1)
  repo!: string;

  @IsIn(PRIORITIES)
  priority!: Priority;

  @IsString()
  @MinLength(1)
  tier!: string;
}

export const JOB_OUTCOMES = ['succeeded', 'failed', 'cancelled'] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

/** agency.cmd.registry.complete.v1: the saga releases the job's slot. */
export class CompleteJobCommand {
  @IsIn(JOB_OUTCOMES)
  outcome!: JobOutcome;

  @IsOptional()
  @IsString()
  @MaxLength(2000)
  reason?: string;
}

/** agency.cmd.registry.cancel.v1 */
export class CancelJobCommand {
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  reason!: string;
}

/** agency.evt.registry.queued.v1 */
export class JobQueuedEvent {
  @IsString()
  jobId!: string;

  @IsInt()
  @Min(0)
  position!: number;
}

/** agency.evt.registry.dispatched.v1 */
export class JobDispatchedEvent {
  @IsString()
  jobId!: string;

  @IsInt()
  @Min(0)
  waitedMs!: number;
}

/** agency.evt.registry.finished.v1 */
export class JobFinishedEvent {
  @IsString()
  jobId!: string;

  @IsIn(JOB_OUTCOMES)
  outcome!: JobOutcome;

  @IsOptional()
  @IsString()
  reason?: string;
}
