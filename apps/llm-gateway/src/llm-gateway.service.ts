import type { ServiceSpec } from '@agency/bootstrap';
import { GATEWAY_SECRETS, LlmGatewayConfig } from './llm-gateway.config.js';
import { GATEWAY_BODY_LIMIT_BYTES } from './http/limits.js';
import { LlmGatewayModule } from './llm-gateway.module.js';

export { GATEWAY_BODY_LIMIT_BYTES } from './http/limits.js';

/** How runService boots the gateway; main.ts and the medium tests share it. */
export const LLM_GATEWAY_SERVICE: ServiceSpec<LlmGatewayConfig> = {
  service: 'llm-gateway',
  schema: LlmGatewayConfig,
  secrets: GATEWAY_SECRETS,
  module: (config) => LlmGatewayModule.forRoot(config),
  // No request lines on the gateway's hot path: pino-http costs more CPU per call than the rest of
  // a small endpoint (bench/request-logging, docs/architecture.md); calls are logged and metered by the gateway itself.
  http: { bodyLimitBytes: GATEWAY_BODY_LIMIT_BYTES, requestLogging: false },
};
