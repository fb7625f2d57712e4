// class-transformer's @Type reads design metadata through the Reflect API.
import 'reflect-metadata';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsNumber, IsString, Max, MaxLength, Min, ValidateNested, IsDefined } from 'class-validator';
import { ArtifactRefDto, FrSnapshotDto, RepoTargetDto, ReviewFindingDto, StrategyDto, TestCountsDto, WorkspaceRefDto } from '../common.dto.js';

export class TestResultDto {
  @IsBoolean()
  passed!: boolean;

  @IsDefined()
  @ValidateNested()
  @Type(() => TestCountsDto)
  counts!: TestCountsDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => ArtifactRefDto)
  report!: ArtifactRefDto;
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
}

export const VERDICTS = ['approve', 'request-changes', 'reject'] as const;
export type Verdict = (typeof VERDICTS)[number];

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
}
