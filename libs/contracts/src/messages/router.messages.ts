// class-transformer's @Type reads design metadata through the Reflect API.
import 'reflect-metadata';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsInt, IsNumber, IsOptional, IsString, Max, Min, MinLength, ValidateNested, IsDefined } from 'class-validator';
import { FrSnapshotDto, StrategyDto } from '../common.dto.js';

export class RepoStatsDto {
  @IsInt()
  @Min(0)
  fileCount!: number;

  @IsInt()
  @Min(0)
  sizeBytes!: number;
}

/** agency.cmd.router.score.v1 */
export class ScoreFrCommand {
  @IsDefined()
  @ValidateNested()
  @Type(() => FrSnapshotDto)
  fr!: FrSnapshotDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => RepoStatsDto)
  repoStats?: RepoStatsDto;

  /** Set by `agency go --tier`: skip scoring and use this tier. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  forcedTier?: string;
}

export class ScoreReasonDto {
  @IsString()
  feature!: string;

  @IsNumber()
  points!: number;

  @IsString()
  detail!: string;
}

/** agency.evt.router.scored.v1 */
export class FrScoredEvent {
  @IsNumber()
  @Min(0)
  @Max(100)
  score!: number;

  @IsString()
  @MinLength(1)
  tier!: string;

  @IsDefined()
  @ValidateNested()
  @Type(() => StrategyDto)
  strategy!: StrategyDto;

  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => ScoreReasonDto)
  reasons!: ScoreReasonDto[];
}
