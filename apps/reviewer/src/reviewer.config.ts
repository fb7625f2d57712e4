import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNumber, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { SEVERITIES, type Severity } from '@agency/contracts';
import { ServiceConfig } from '@agency/config';

export class ReviewerConfig extends ServiceConfig {
  override HTTP_PORT = 7104;

  /** The vault: 20_agents/reviewer.md, 30_review_rules/ and the optional `review:` section of 40_config/agency.yaml. */
  @IsString()
  @MinLength(1)
  VAULT_PATH!: string;

  /** The LLM gateway's OpenAI-compatible base URL, e.g. http://127.0.0.1:7106/v1. */
  @IsString()
  @Matches(/^https?:\/\/\S+$/, { message: 'LLM_GATEWAY_URL must be an http(s) URL such as http://127.0.0.1:7106/v1' })
  LLM_GATEWAY_URL!: string;

  /** The agency's key for the gateway (secret: never logged). */
  @IsString()
  @MinLength(1)
  LLM_GATEWAY_API_KEY!: string;
  /** A model call must start answering within this (the gateway's first chunk); a streamed answer is never cut while it keeps coming. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  LLM_TIMEOUT_MS: number = 180_000;

  /** Silence longer than this in a streaming answer gives the try up (it is tried again, then the step fails retryably). */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  LLM_IDLE_TIMEOUT_MS: number = 60_000;

  /** A diff larger than this fails the size check: the change is too big to review as one. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  MAX_DIFF_BYTES: number = 200_000;

  /** How much of the diff the model sees; the rest is cut with a note naming the files left out. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  MAX_PROMPT_DIFF_BYTES: number = 60_000;

  /** Findings below this severity are dropped as noise. */
  @IsIn(SEVERITIES)
  MIN_SEVERITY: Severity = 'minor';

  /** Model findings below this confidence are dropped as noise. */
  @Type(() => Number)
  @IsNumber()
  @Min(0)
  @Max(1)
  MIN_CONFIDENCE: number = 0.5;
}

/** Variables whose values never appear in logs or configuration errors. */
export const REVIEWER_SECRETS = ['LLM_GATEWAY_API_KEY'] as const;
