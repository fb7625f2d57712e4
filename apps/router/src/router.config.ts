import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, ValidateIf } from 'class-validator';
import { ServiceConfig } from '@agency/config';

export class RouterConfig extends ServiceConfig {
  override HTTP_PORT = 7101;

  /** The vault whose 40_config/agency.yaml defines the tiers (and `routing:`, the optional model refinement). */
  @IsString()
  @MinLength(1)
  VAULT_PATH!: string;

  /**
   * The LLM gateway's OpenAI-compatible base URL, e.g. http://127.0.0.1:7106/v1. Only used when
   * agency.yaml names `routing.refine_model`; absent, the score stays the heuristic's.
   */
  @IsOptional()
  @IsString()
  @Matches(/^https?:\/\/\S+$/, { message: 'LLM_GATEWAY_URL must be an http(s) URL such as http://127.0.0.1:7106/v1' })
  LLM_GATEWAY_URL?: string;

  /** The agency's key for the gateway (secret: never logged); required when LLM_GATEWAY_URL is set. */
  @ValidateIf((c: RouterConfig) => c.LLM_GATEWAY_URL !== undefined)
  @IsString({ message: 'LLM_GATEWAY_API_KEY must be set when LLM_GATEWAY_URL is' })
  @MinLength(1)
  LLM_GATEWAY_API_KEY?: string;

  /**
   * Milliseconds one refinement call may take before it is abandoned (the client retries twice).
   * Shorter than the agents' default: the heuristic score is always there to fall back on.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  LLM_TIMEOUT_MS: number = 30_000;
}

/** Variables whose values never appear in logs or configuration errors. */
export const ROUTER_SECRETS = ['LLM_GATEWAY_API_KEY'] as const;
