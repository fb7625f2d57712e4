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
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
  IsDefined,
} from 'class-validator';
import { FrSnapshotDto, RepoTargetDto, WorkspaceRefDto } from '../common.dto.js';

/** What the PR description is built from; git-service renders it. */
export class PrContextDto {
  @IsString()
  @MaxLength(20_000)
  planSummary!: string;

  @IsString()
  @MaxLength(20_000)
  testSummary!: string;

  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  reviewRounds!: string[];

  @IsNumber()
  @Min(0)
  costUsd!: number;

  /** What the coder says it changed (its last round's finish summary). */
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  changeSummary?: string;

  /** Why the PR is a draft (rounds exhausted, budget, the coder stopped early), when it is. */
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  draftReason?: string;

  @IsOptional()
  @IsString()
  @MaxLength(2000)
  traceUrl?: string;

  @IsString()
  @Matches(/^[a-f0-9]{32}$/, { message: 'traceId must be 32 lowercase hex characters' })
  traceId!: string;
}

/** agency.cmd.git-service.open-pr.v1: also updates the PR when it already exists. */
export class OpenPrCommand {
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
  @Type(() => WorkspaceRefDto)
  workspace!: WorkspaceRefDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => PrContextDto)
  context!: PrContextDto;

  @IsBoolean()
  draft!: boolean;

  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  labels!: string[];
}

/** agency.cmd.git-service.merge.v1 */
export class MergePrCommand {
  @IsDefined()
  @ValidateNested()
  @Type(() => RepoTargetDto)
  repo!: RepoTargetDto;

  @IsInt()
  @Min(1)
  number!: number;

  @IsIn(['merge', 'squash', 'rebase'])
  method!: 'merge' | 'squash' | 'rebase';
}

/**
 * agency.cmd.git-service.close-pr.v1: the saga ends an FR run's PR without merging it (rejected,
 * cancelled, failed, or replaced by a fresh run of the FR). Closing a closed PR is a no-op.
 */
export class ClosePrCommand {
  @IsDefined()
  @ValidateNested()
  @Type(() => RepoTargetDto)
  repo!: RepoTargetDto;

  @IsInt()
  @Min(1)
  number!: number;

  /** Why, left as a comment on the PR before it is closed. */
  @IsString()
  @MinLength(1)
  @MaxLength(5000)
  reason!: string;

  /** Also delete the PR's branch on the forge (an agency branch only; never the base). */
  @IsBoolean()
  deleteBranch!: boolean;
}

/**
 * agency.cmd.git-service.delete-branch.v1: ends an agency branch of the FR on the forge: its open
 * PR (if any, of this FR) is closed first with `reason`, then the branch is deleted unless
 * `keepBranch`. For a stopped run whose PR the saga has not heard of yet (a draft in flight), and
 * the branch a fresh run of the FR replaces. A branch that is not there is a no-op.
 */
export class DeleteBranchCommand {
  @IsDefined()
  @ValidateNested()
  @Type(() => RepoTargetDto)
  repo!: RepoTargetDto;

  @IsString()
  @MinLength(1)
  @MaxLength(300)
  branch!: string;

  @IsOptional()
  @IsString()
  @MaxLength(5000)
  reason?: string;

  /** Close the branch's open PR only; the branch stays (a failed run a retry continues, or the keep setting). */
  @IsOptional()
  @IsBoolean()
  keepBranch?: boolean;
}

/** agency.evt.git-service.branch-deleted.v1 */
export class BranchDeletedEvent {
  @IsString()
  @MaxLength(300)
  branch!: string;

  /** False when the branch was not on the forge (already deleted). */
  @IsBoolean()
  deleted!: boolean;
}

/** agency.evt.git-service.pr-opened.v1 */
export class PrOpenedEvent {
  @IsInt()
  @Min(1)
  number!: number;

  @IsString()
  @MinLength(1)
  url!: string;

  @IsString()
  branch!: string;

  @IsString()
  @Matches(/^[a-f0-9]{40}$/, { message: 'headSha must be a 40-character git sha' })
  headSha!: string;

  @IsBoolean()
  draft!: boolean;

  /** False when an existing PR was found and updated (a redelivery or a fix round). */
  @IsBoolean()
  created!: boolean;
}

/** agency.evt.git-service.pr-merged.v1 */
export class PrMergedEvent {
  @IsInt()
  @Min(1)
  number!: number;

  @IsString()
  url!: string;

  @IsString()
  @Matches(/^[a-f0-9]{40}$/, { message: 'mergeSha must be a 40-character git sha' })
  mergeSha!: string;
}

/** agency.evt.git-service.pr-closed.v1 (closed without merge) */
export class PrClosedEvent {
  @IsInt()
  @Min(1)
  number!: number;

  @IsString()
  url!: string;
}

/** agency.evt.git-service.pr-reviewed.v1: a human's review on the forge. */
export class PrReviewedEvent {
  @IsInt()
  @Min(1)
  number!: number;

  @IsIn(['approved', 'changes_requested', 'commented'])
  state!: 'approved' | 'changes_requested' | 'commented';

  @IsString()
  @MaxLength(200)
  author!: string;

  @IsString()
  @MaxLength(65_536)
  body!: string;
}
