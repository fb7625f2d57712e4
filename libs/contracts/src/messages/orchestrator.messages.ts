import { ArrayMaxSize, IsArray, IsIn, IsNumber, IsOptional, IsString, MaxLength, Min, MinLength } from 'class-validator';
// The states and their rules are plain constants the browser loads too: saga-rules.ts.
import { SAGA_STATES, type SagaState } from '../saga-rules.js';

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

/**
 * Why the intake refused a file in 10_features/03_planned. Files refused for their bytes (too
 * large, binary, unreadable) or their id (a duplicate) are never rewritten; the others get the
 * reason in their front matter as well.
 */
export const FR_REFUSAL_CODES = ['TOO_LARGE', 'BINARY', 'UNREADABLE', 'DUPLICATE_ID', 'INVALID', 'DEPENDENCY_UNKNOWN', 'DEPENDENCY_CYCLE'] as const;
export type FrRefusalCode = (typeof FR_REFUSAL_CODES)[number];

/** agency.evt.orchestrator.fr-refused.v1: the agency will not take (or cannot yet take) an FR file, and why. */
export class FrRefusedEvent {
  /** Vault-relative path of the file as the intake found it. */
  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  path!: string;

  /** Where the file is now (09_blocked, or still in 03_planned when it only waits). */
  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  now!: string;

  @IsIn(FR_REFUSAL_CODES)
  code!: FrRefusalCode;

  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(2000, { each: true })
  problems!: string[];
}
