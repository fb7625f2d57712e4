import { IsIn, IsInt, IsNumber, IsOptional, IsString, MaxLength, Min } from 'class-validator';

/** agency.evt.llm-gateway.usage.v1: one per model call, so every FR knows its cost. */
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

  @IsInt()
  @Min(0)
  latencyMs!: number;

  @IsIn(['ok', 'error'])
  status!: 'ok' | 'error';

  @IsOptional()
  @IsString()
  @MaxLength(200)
  apiKeyId?: string;
}
