import { IsIn, IsInt, IsNumber, IsOptional, IsString, MaxLength, Min } from 'class-validator';

/**
 * agency.evt.llm-gateway.usage.v1: what model calls cost, so every FR knows its cost. One event
 * per call, except that the calls of one saga step with the same model and outcome that end
 * within one flush of the gateway's outbox (100 ms) share an event: then `calls` says how many,
 * and tokens, cost and latency are their sums.
 */
export class LlmUsageEvent {
  @IsString()
  @MaxLength(200)
  alias!: string;

  @IsString()
  @MaxLength(200)
  provider!: string;

  @IsString()
  @MaxLength(200)
  model!: string;

  @IsInt()
  @Min(0)
  inputTokens!: number;

  /** Of inputTokens, the ones read from the vendor's prompt cache. */
  @IsInt()
  @Min(0)
  cachedInputTokens!: number;

  /** Of inputTokens, the ones written to the vendor's prompt cache (Anthropic's cache_creation_input_tokens); absent when none. */
  @IsOptional()
  @IsInt()
  @Min(0)
  cacheWriteTokens?: number;

  @IsInt()
  @Min(0)
  outputTokens!: number;

  @IsNumber()
  @Min(0)
  costUsd!: number;

  /** The call's latency; for several calls, the sum of theirs. */
  @IsInt()
  @Min(0)
  latencyMs!: number;

  /** How many calls this event counts; absent for one. */
  @IsOptional()
  @IsInt()
  @Min(1)
  calls?: number;

  @IsIn(['ok', 'error'])
  status!: 'ok' | 'error';

  @IsOptional()
  @IsString()
  @MaxLength(200)
  apiKeyId?: string;
}
