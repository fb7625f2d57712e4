import type { ServiceSpec } from '@agency/bootstrap';
import { GATEWAY_SECRETS, LlmGatewayConfig } from './llm-gateway.config.js';
import { LlmGatewayModule } from './llm-gateway.module.js';

/** Prompts carry whole files; past this a request is refused with 413 before it is parsed. */
export const GATEWAY_BODY_LIMIT_BYTES = 8 * 1024 * 1024;

/** How runService boots the gateway; main.ts and the medium tests share it. */
export const LLM_GATEWAY_SERVICE: ServiceSpec<LlmGatewayConfig> = {
  service: 'llm-gateway',
  schema: LlmGatewayConfig,
  secrets: GATEWAY_SECRETS,
  module: (config) => LlmGatewayModule.forRoot(config),
  http: { bodyLimitBytes: GATEWAY_BODY_LIMIT_BYTES },
};
