// class-transformer's @Type reads design metadata through the Reflect API.
import 'reflect-metadata';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsNumber, IsOptional, IsString, Max, MaxLength, Min, ValidateNested, IsDefined } from 'class-validator';
import { LintResultDto } from './agent-runner.messages.js';
import {
  ArtifactRefDto,
  BaseFailuresDto,
  FrSnapshotDto,
  RepoTargetDto,
  ReviewFindingDto,
  StrategyDto,
  TEST_OUTPUT_FORMATS,
  TestCountsDto,
  WorkspaceRefDto,
  type TestOutputFormat,
} from '../common.dto.js';

export class TestResultDto {
  @IsBoolean()
  passed!: boolean;

  @IsDefined()
  @ValidateNested()
  @Type(() => TestCountsDto)
  counts!: TestCountsDto;

  /** `unparsed`: the counts mean nothing; the report's output tail and exit code are what is known. */
  @IsIn(TEST_OUTPUT_FORMATS)
  format!: TestOutputFormat;

  @IsDefined()
  @ValidateNested()
  @Type(() => ArtifactRefDto)
  report!: ArtifactRefDto;

  /** The repository's lint as the test step ran it in the sandbox (TestedEvent.lint); the reviewer's lint check reads it. */
  @IsOptional()
  @ValidateNested()
  @Type(() => LintResultDto)
  lint?: LintResultDto;

  /** Every failure already failed at the job's base (TestedEvent.failedAtBase): not the change's doing. */
  @IsOptional()
  @ValidateNested()
  @Type(() => BaseFailuresDto)
  failedAtBase?: BaseFailuresDto;
}

/** An earlier review round, so a later round's reviewer knows what it asked for and can check it was done. */
export class EarlierReviewDto {
  @IsInt()
  @Min(1)
  round!: number;

  @IsIn(['approve', 'request-changes', 'reject'])
  verdict!: 'approve' | 'request-changes' | 'reject';

  @IsArray()
  @ArrayMaxSize(200)
  @ValidateNested({ each: true })
  @Type(() => ReviewFindingDto)
  findings!: ReviewFindingDto[];
}

/** agency.cmd.reviewer.review.v1 */
export class ReviewCommand {
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

  @IsInt()
  @Min(1)
  round!: number;

  @IsDefined()
  @ValidateNested()
  @Type(() => ArtifactRefDto)
  plan!: ArtifactRefDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => ArtifactRefDto)
  diff!: ArtifactRefDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => WorkspaceRefDto)
  workspace!: WorkspaceRefDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => TestResultDto)
  tests!: TestResultDto;

  /** What the coder said it did in this round (its finish summary). */
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  coderSummary?: string;

  /** The previous review round (its verdict and findings), in a fix round. */
  @IsOptional()
  @ValidateNested()
  @Type(() => EarlierReviewDto)
  earlier?: EarlierReviewDto;
}

export const VERDICTS = ['approve', 'request-changes', 'reject'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** A review rule of the vault that was not applied to this change, and why. */
export class SkippedRuleDto {
  @IsString()
  @MaxLength(200)
  id!: string;

  @IsString()
  @MaxLength(1000)
  reason!: string;
}

/** Which review rules of the vault the reviewer applied to the change, and which not (so the person who merges sees a rule that never applies). */
export class ReviewRulesDto {
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @MaxLength(200, { each: true })
  applied!: string[];

  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => SkippedRuleDto)
  skipped!: SkippedRuleDto[];
}

/** agency.evt.reviewer.reviewed.v1 */
export class ReviewedEvent {
  @IsInt()
  @Min(1)
  round!: number;

  @IsIn(VERDICTS)
  verdict!: Verdict;

  @IsNumber()
  @Min(0)
  @Max(1)
  confidence!: number;

  @IsString()
  @MaxLength(10_000)
  summary!: string;

  @IsArray()
  @ArrayMaxSize(200)
  @ValidateNested({ each: true })
  @Type(() => ReviewFindingDto)
  findings!: ReviewFindingDto[];

  @IsDefined()
  @ValidateNested()
  @Type(() => ArtifactRefDto)
  report!: ArtifactRefDto;

  /** Absent in events of reviewers older than this field. */
  @IsOptional()
  @ValidateNested()
  @Type(() => ReviewRulesDto)
  rules?: ReviewRulesDto;

  /** The model's own verdict when the policy overrode it (an approval that blocking findings turned into request-changes). */
  @IsOptional()
  @IsIn(VERDICTS)
  modelVerdict?: Verdict;
}
