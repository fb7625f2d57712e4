import type { Provider } from '@nestjs/common';
import { LlmClient } from '@agency/llm-client';
import { AgentRunnerConfig } from '../agent-runner.config.js';

/** The one LlmClient of the process, pointed at the gateway. */
export const llmClientProvider: Provider = {
  provide: LlmClient,
  useFactory: (config: AgentRunnerConfig) =>
    new LlmClient({
      baseUrl: config.LLM_GATEWAY_URL,
      apiKey: config.LLM_GATEWAY_API_KEY,
      firstByteTimeoutMs: config.LLM_TIMEOUT_MS,
      idleTimeoutMs: config.LLM_IDLE_TIMEOUT_MS,
    }),
  inject: [AgentRunnerConfig],
};
