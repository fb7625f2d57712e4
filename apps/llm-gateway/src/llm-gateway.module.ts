import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ApiKeyGuard } from './auth/api-key.guard.js';
import { KeyRing } from './auth/key-ring.js';
import { BudgetLedger } from './budget/budget-ledger.js';
import { BudgetService } from './budget/budget.service.js';
import { SpendStore } from './budget/spend.store.js';
import { ChatService } from './chat/chat.service.js';
import { GatewayMetrics } from './chat/gateway.metrics.js';
import { UsagePublisher } from './chat/usage.publisher.js';
import { Environment } from './common/environment.js';
import { Random } from './common/random.js';
import { AgencyConfigSource } from './config/agency-config.source.js';
import { MessagesHandler } from './http/anthropic/messages.handler.js';
import { ApiRoutes } from './http/api.routes.js';
import { ApiExceptionFilter } from './http/api-exception.filter.js';
import { ChatCompletionsHandler } from './http/openai/chat-completions.handler.js';
import { ModelsController } from './http/openai/models.controller.js';
import type { LlmGatewayConfig } from './llm-gateway.config.js';
import { CassetteFileRepository } from './providers/cassette/cassette-file.repository.js';
import { HttpTransport } from './providers/http/http.transport.js';
import { ProviderFactory } from './providers/provider.factory.js';
import { ProviderRegistry } from './providers/provider.registry.js';
import { ScriptFileRepository } from './providers/scripted/script-file.repository.js';
import { CallRouter } from './routing/call-router.js';

@Module({})
export class LlmGatewayModule {
  static forRoot(_config: LlmGatewayConfig): DynamicModule {
    return {
      module: LlmGatewayModule,
      controllers: [ModelsController],
      providers: [
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        { provide: Environment, useValue: new Environment() },
        ApiKeyGuard,
        ApiRoutes,
        ChatCompletionsHandler,
        MessagesHandler,
        KeyRing,
        BudgetLedger,
        BudgetService,
        SpendStore,
        CallRouter,
        ChatService,
        GatewayMetrics,
        UsagePublisher,
        Random,
        AgencyConfigSource,
        CassetteFileRepository,
        HttpTransport,
        ProviderFactory,
        ProviderRegistry,
        ScriptFileRepository,
      ],
    };
  }
}
