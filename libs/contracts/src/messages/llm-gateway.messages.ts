import { IsIn, IsInt, IsNumber, IsOptional, IsString, MaxLength, Min } from 'class-validator';

/**
 * agency.evt.llm-gateway.usage.v1: what model calls cost, so every FR knows its cost. One event
 * per call, except when more than a few calls of one saga step with the same model and outcome
 * end within one flush of the gateway's outbox (100 ms; a client tagging many concurrent calls
 * with one FR): those share an event, `calls` says how many, tokens, cost and latency are sums.
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
