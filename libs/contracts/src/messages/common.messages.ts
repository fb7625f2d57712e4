import { IsBoolean, IsInt, IsOptional, IsString, MaxLength, Min, MinLength } from 'class-validator';

/** agency.evt.<service>.step-failed.v1: a handled failure the saga must decide about. */
export class StepFailedEvent {
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  code!: string;

  @IsString()
  @MinLength(1)
  @MaxLength(10_000)
  reason!: string;

  /** Whether re-driving the same step may succeed (a timeout) or not (an invalid plan). */
  @IsBoolean()
  retryable!: boolean;
}

/** agency.evt.<service>.dead-lettered.v1: a message this service could not process, ever. */
export class DeadLetteredEvent {
  @IsString()
  originalSubject!: string;

  @IsString()
  @MaxLength(10_000)
  reason!: string;

  @IsInt()
  @Min(1)
  deliveries!: number;

  @IsInt()
  @Min(0)
  streamSeq!: number;

  @IsOptional()
  @IsString()
  originalType?: string;
}
