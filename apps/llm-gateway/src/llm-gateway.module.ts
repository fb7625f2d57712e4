import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ApiKeyGuard } from './auth/api-key.guard.js';
import { ChatService } from './chat/chat.service.js';
import { GatewayMetrics } from './chat/gateway.metrics.js';
import { UsagePublisher } from './chat/usage.publisher.js';
import { AgencyConfigSource } from './config/agency-config.source.js';
import { ChatCompletionsController } from './http/chat-completions.controller.js';
import { ModelsController } from './http/models.controller.js';
import { OpenAiExceptionFilter } from './http/openai-exception.filter.js';
import type { LlmGatewayConfig } from './llm-gateway.config.js';
import { ProviderFactory } from './providers/provider.factory.js';
import { ProviderRegistry } from './providers/provider.registry.js';
import { ScriptFileRepository } from './providers/scripted/script-file.repository.js';

@Module({})
export class LlmGatewayModule {
  static forRoot(_config: LlmGatewayConfig): DynamicModule {
    return {
      module: LlmGatewayModule,
      controllers: [ChatCompletionsController, ModelsController],
      providers: [
        { provide: APP_FILTER, useClass: OpenAiExceptionFilter },
        ApiKeyGuard,
        ChatService,
        GatewayMetrics,
        UsagePublisher,
        AgencyConfigSource,
        ProviderFactory,
        ProviderRegistry,
        ScriptFileRepository,
      ],
    };
  }
}
