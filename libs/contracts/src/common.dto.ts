// class-transformer's @Type reads design metadata through the Reflect API.
import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
  IsDefined,
} from 'class-validator';
import { FR_ID_PATTERN } from './envelope.js';

export const PRIORITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const AGENT_ROLES = ['planner', 'coder', 'tester', 'reviewer'] as const;
export type AgentRole = (typeof AGENT_ROLES)[number];

/** A reference to an object in the artifact store (plans, bundles, diffs, reports). */
export class ArtifactRefDto {
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  key!: string;

  @IsInt()
  @Min(0)
  size!: number;

  @IsString()
  @Matches(/^[a-f0-9]{64}$/, { message: 'sha256 must be 64 lowercase hex characters' })
  sha256!: string;

  @IsString()
  @MaxLength(128)
  contentType!: string;
}

/** The FR as the vault had it when the saga took it: services never read the vault themselves. */
export class FrSnapshotDto {
  @IsString()
  @Matches(FR_ID_PATTERN, { message: 'id must look like FR-123' })
  id!: string;

  @IsString()
  @MinLength(1)
  @MaxLength(300)
  title!: string;

  @IsIn(PRIORITIES)
  priority!: Priority;

  /** Repository name as declared in the vault's agency.yaml (or owner/name on a forge). */
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  repo!: string;

  @IsString()
  @MinLength(1)
  @MaxLength(200)
  base!: string;

  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  phases!: string[];

  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  dependsOn!: string[];

  @IsArray()
  @ArrayMaxSize(200)
  @IsString({ each: true })
  acceptanceCriteria!: string[];

  @IsString()
  @MaxLength(200_000)
  body!: string;

  /** Vault-relative path of the FR file when the snapshot was taken. */
  @IsString()
  @MaxLength(1000)
  path!: string;

  /** sha256 of the file, so a later edit can be told apart from a redelivery. */
  @IsString()
  @Matches(/^[a-f0-9]{64}$/, { message: 'contentHash must be 64 lowercase hex characters' })
  contentHash!: string;
}

/** Where the work happens: resolved by the orchestrator from the vault's repository config. */
export class RepoTargetDto {
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  /** URL or path agents clone from (read only). */
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  cloneUrl!: string;

  @IsString()
  @MinLength(1)
  @MaxLength(200)
  base!: string;

  @IsIn(['local', 'github'])
  forge!: 'local' | 'github';

  @IsOptional()
  @IsString()
  @MaxLength(2000)
  setupCommand?: string;

  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  testCommand!: string;

  @IsOptional()
  @IsString()
  @MaxLength(2000)
  lintCommand?: string;

  /** A JUnit XML report the test command writes (path relative to the repository), read instead of the output when present. */
  @IsOptional()
  @IsString()
  @MaxLength(500)
  testReport?: string;
}

/** The range of each sandbox limit a tier may set (the vault's tier config checks the same). */
export const SANDBOX_LIMIT_RANGES = {
  memoryMb: { min: 64, max: 262_144 },
  cpus: { min: 0.1, max: 128 },
  pids: { min: 16, max: 1_000_000 },
} as const;

/** A tier's sandbox limits; each one absent keeps the runner's own default (SANDBOX_* settings). */
export class SandboxLimitsDto {
  @IsOptional()
  @IsInt()
  @Min(SANDBOX_LIMIT_RANGES.memoryMb.min)
  @Max(SANDBOX_LIMIT_RANGES.memoryMb.max)
  memoryMb?: number;

  @IsOptional()
  @IsNumber()
  @Min(SANDBOX_LIMIT_RANGES.cpus.min)
  @Max(SANDBOX_LIMIT_RANGES.cpus.max)
  cpus?: number;

  @IsOptional()
  @IsInt()
  @Min(SANDBOX_LIMIT_RANGES.pids.min)
  @Max(SANDBOX_LIMIT_RANGES.pids.max)
  pids?: number;
}

/** How a tier runs an FR; chosen by the router, carried by the saga. */
export class StrategyDto {
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  tier!: string;

  /** Model alias per agent role, resolved by the LLM gateway. */
  @IsString()
  plannerModel!: string;

  @IsString()
  coderModel!: string;

  @IsString()
  reviewerModel!: string;

  @IsInt()
  @Min(0)
  @Max(20)
  reviewRounds!: number;

  @IsBoolean()
  planApproval!: boolean;

  @IsBoolean()
  autoMerge!: boolean;

  @IsNumber()
  @Min(0)
  budgetUsd!: number;

  /** Container limits for the FR's sandboxes (coder and tester). */
  @IsOptional()
  @ValidateNested()
  @Type(() => SandboxLimitsDto)
  sandbox?: SandboxLimitsDto;
}

export const SEVERITIES = ['info', 'minor', 'major', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export class ReviewFindingDto {
  @IsString()
  @MaxLength(1000)
  file!: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  line?: number;

  @IsIn(SEVERITIES)
  severity!: Severity;

  @IsString()
  @MinLength(1)
  @MaxLength(5000)
  message!: string;

  @IsOptional()
  @IsString()
  @MaxLength(5000)
  suggestion?: string;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  confidence?: number;

  /** Whether the finding blocks approval (a failed deterministic check always does). */
  @IsBoolean()
  blocking!: boolean;
}

/**
 * How a test run's output was read. `unparsed`: no parser understood it, so the counts mean
 * nothing (never "0 of 0"): consumers show the output's tail and the exit code instead.
 */
export const TEST_OUTPUT_FORMATS = ['node', 'tap', 'jest', 'vitest', 'mocha', 'ava', 'uvu', 'pytest', 'go', 'cargo', 'junit', 'unparsed'] as const;
export type TestOutputFormat = (typeof TEST_OUTPUT_FORMATS)[number];

export class TestCountsDto {
  @IsInt()
  @Min(0)
  total!: number;

  @IsInt()
  @Min(0)
  passed!: number;

  @IsInt()
  @Min(0)
  failed!: number;

  @IsInt()
  @Min(0)
  skipped!: number;
}

/**
 * A failed test run whose every failure is a test that already failed at the job's base, before
 * any change (by name): the change did not cause them (a relay trial on commander.js: tests that
 * failed at the base blocked every round while the coder was told they were not its to fix).
 */
export class BaseFailuresDto {
  @IsInt()
  @Min(1)
  count!: number;

  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(300, { each: true })
  names!: string[];
}

export class WorkspaceRefDto {
  @IsString()
  @MaxLength(300)
  branch!: string;

  @IsString()
  @Matches(/^[a-f0-9]{40}$/, { message: 'baseSha must be a 40-character git sha' })
  baseSha!: string;

  @IsString()
  @Matches(/^[a-f0-9]{40}$/, { message: 'headSha must be a 40-character git sha' })
  headSha!: string;

  /** Commits base..head as a git bundle: how work moves between services. */
  @IsDefined()
  @ValidateNested()
  @Type(() => ArtifactRefDto)
  bundle!: ArtifactRefDto;
}
