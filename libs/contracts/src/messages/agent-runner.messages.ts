// class-transformer's @Type reads design metadata through the Reflect API.
import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
  IsDefined,
  IsIn,
} from 'class-validator';
import {
  ArtifactRefDto,
  BaseFailuresDto,
  FrSnapshotDto,
  RepoTargetDto,
  ReviewFindingDto,
  SandboxLimitsDto,
  StrategyDto,
  TEST_OUTPUT_FORMATS,
  TestCountsDto,
  WorkspaceRefDto,
  type TestOutputFormat,
} from '../common.dto.js';

/** agency.cmd.agent-runner.plan.v1 */
export class PlanCommand {
  @IsDefined()
  @ValidateNested()
  @Type(() => FrSnapshotDto)
  fr!: FrSnapshotDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => RepoTargetDto)
  repo!: RepoTargetDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => StrategyDto)
  strategy!: StrategyDto;
}

/** agency.cmd.agent-runner.code.v1: the first round, or a fix round with the reviewer's findings. */
export class CodeCommand {
  @IsDefined()
  @ValidateNested()
  @Type(() => FrSnapshotDto)
  fr!: FrSnapshotDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => RepoTargetDto)
  repo!: RepoTargetDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => StrategyDto)
  strategy!: StrategyDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => ArtifactRefDto)
  plan!: ArtifactRefDto;

  @IsInt()
  @Min(1)
  round!: number;

  /** Work of earlier rounds, so a fix round continues from it on any runner. */
  @IsOptional()
  @ValidateNested()
  @Type(() => WorkspaceRefDto)
  workspace?: WorkspaceRefDto;

  @IsArray()
  @ArrayMaxSize(200)
  @ValidateNested({ each: true })
  @Type(() => ReviewFindingDto)
  findings!: ReviewFindingDto[];

  /** Failing test output from the previous round, trimmed. */
  @IsOptional()
  @IsString()
  @MaxLength(20_000)
  testFailures?: string;
}

/** agency.cmd.agent-runner.test.v1 */
export class TestCommand {
  @IsDefined()
  @ValidateNested()
  @Type(() => RepoTargetDto)
  repo!: RepoTargetDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => WorkspaceRefDto)
  workspace!: WorkspaceRefDto;

  @IsInt()
  @Min(1)
  round!: number;

  /** The tier's sandbox limits (StrategyDto.sandbox); absent: the runner's defaults. */
  @IsOptional()
  @ValidateNested()
  @Type(() => SandboxLimitsDto)
  sandbox?: SandboxLimitsDto;
}

/** agency.cmd.agent-runner.cleanup.v1: remove the job's worktree (end of saga or compensation). */
export class CleanupCommand {
  @IsString()
  @MinLength(1)
  reason!: string;

  /** The job was stopped (cancelled, failed, blocked): kill what still runs for it and refuse later steps. */
  @IsOptional()
  @IsBoolean()
  cancel?: boolean;
}

/** agency.evt.agent-runner.planned.v1 */
export class PlannedEvent {
  @IsDefined()
  @ValidateNested()
  @Type(() => ArtifactRefDto)
  plan!: ArtifactRefDto;

  @IsString()
  @MaxLength(5000)
  summary!: string;

  @IsInt()
  @Min(0)
  stepCount!: number;
}

/**
 * Why a coder stopped before it called finish. Its checkpoint commits are handed in all the
 * same (CodedEvent.stopped), and the saga makes them a draft PR that says why.
 */
export const CODER_STOP_CODES = ['STEP_LIMIT', 'REPEATED_ACTION', 'TIMEOUT', 'BUDGET_EXCEEDED'] as const;
export type CoderStopCode = (typeof CODER_STOP_CODES)[number];

export class CoderStopDto {
  @IsIn(CODER_STOP_CODES)
  code!: CoderStopCode;

  @IsString()
  @MinLength(1)
  @MaxLength(5000)
  reason!: string;
}

/** agency.evt.agent-runner.coded.v1 */
export class CodedEvent {
  @IsInt()
  @Min(1)
  round!: number;

  @IsDefined()
  @ValidateNested()
  @Type(() => WorkspaceRefDto)
  workspace!: WorkspaceRefDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => ArtifactRefDto)
  diff!: ArtifactRefDto;

  @IsArray()
  @ArrayMaxSize(10_000)
  @IsString({ each: true })
  filesChanged!: string[];

  @IsInt()
  @Min(0)
  commits!: number;

  @IsString()
  @MaxLength(5000)
  summary!: string;

  /** Set when the coder stopped early (step limit, repeats, timeout, budget) and handed in its checkpoints as the work. */
  @IsOptional()
  @ValidateNested()
  @Type(() => CoderStopDto)
  stopped?: CoderStopDto;
}

/** Lint output kept in a test report and event (its end, where linters print problems and their summary). */
export const LINT_OUTPUT_MAX_CHARS = 16_000;

/**
 * The repository's lint command (`repos.<name>.lint`) as the test step ran it, in the job's
 * sandbox: same environment as the tests, no network, no secrets. The reviewer only reads it.
 */
export class LintResultDto {
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  command!: string;

  @IsInt()
  exitCode!: number;

  @IsBoolean()
  timedOut!: boolean;

  @IsInt()
  @Min(0)
  durationMs!: number;

  /** The end of what the command printed (stdout and stderr interleaved), as the sandbox gave it. */
  @IsString()
  @MaxLength(LINT_OUTPUT_MAX_CHARS)
  outputTail!: string;
}

/** agency.evt.agent-runner.tested.v1 */
export class TestedEvent {
  @IsInt()
  @Min(1)
  round!: number;

  @IsBoolean()
  passed!: boolean;

  @IsInt()
  exitCode!: number;

  @IsBoolean()
  timedOut!: boolean;

  @IsDefined()
  @ValidateNested()
  @Type(() => TestCountsDto)
  counts!: TestCountsDto;

  /** Which runner's output the counts were read from; `unparsed`: none understood it and the counts mean nothing. */
  @IsIn(TEST_OUTPUT_FORMATS)
  format!: TestOutputFormat;

  @IsInt()
  @Min(0)
  durationMs!: number;

  @IsDefined()
  @ValidateNested()
  @Type(() => ArtifactRefDto)
  report!: ArtifactRefDto;

  @IsString()
  @Matches(/^[a-f0-9]{40}$/, { message: 'headSha must be a 40-character git sha' })
  headSha!: string;

  /** Tail of the failing output, for the coder's next round. */
  @IsString()
  @MaxLength(20_000)
  failureExcerpt!: string;

  /** The repository's lint, run after the tests in the same sandbox; absent when none is configured or it could not run (setup failed). */
  @IsOptional()
  @ValidateNested()
  @Type(() => LintResultDto)
  lint?: LintResultDto;

  /** Set when the run failed and every failure is a test that already failed at the job's base. */
  @IsOptional()
  @ValidateNested()
  @Type(() => BaseFailuresDto)
  failedAtBase?: BaseFailuresDto;
}

/** agency.evt.agent-runner.cleaned.v1 */
export class CleanedEvent {
  @IsBoolean()
  removed!: boolean;
}

/** agency.evt.<service>.heartbeat.v1: a long step is alive; the sweeper uses the last one. */
export class HeartbeatEvent {
  @IsString()
  @MaxLength(500)
  message!: string;

  @IsOptional()
  @IsNumber()
  @Min(0)
  progress?: number;
}
