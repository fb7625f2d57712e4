import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ApiKeyGuard } from './auth/api-key.guard.js';
import { KeyRing } from './auth/key-ring.js';
import { BudgetLedger } from './budget/budget-ledger.js';
import { BudgetService } from './budget/budget.service.js';
import { SpendStore } from './budget/spend.store.js';
import { ChatService } from './chat/chat.service.js';
import { TokenCountService } from './chat/token-count.service.js';
import { GatewayMetrics } from './chat/gateway.metrics.js';
import { UsagePublisher } from './chat/usage.publisher.js';
import { Environment } from './common/environment.js';
import { InFlightCalls } from './common/in-flight-calls.js';
import { Random } from './common/random.js';
import { SpoolFiles } from './common/spool-file.js';
import { LlmConfigSource } from './config/llm-config.source.js';
import { CountTokensHandler } from './http/anthropic/count-tokens.handler.js';
import { MessagesHandler } from './http/anthropic/messages.handler.js';
import { ApiRoutes } from './http/api.routes.js';
import { ApiExceptionFilter } from './http/api-exception.filter.js';
import { ChatCompletionsHandler } from './http/openai/chat-completions.handler.js';
import { EmbeddingsHandler } from './http/openai/embeddings.handler.js';
import { ModelsController } from './http/openai/models.controller.js';
import { ResponsesController } from './http/responses/responses.controller.js';
import { ResponsesHandler } from './http/responses/responses.handler.js';
import type { LlmGatewayConfig } from './llm-gateway.config.js';
import { CassetteFileRepository } from './providers/cassette/cassette-file.repository.js';
import { HttpTransport } from './providers/http/http.transport.js';
import { ProviderFactory } from './providers/provider.factory.js';
import { ProviderRegistry } from './providers/provider.registry.js';
import { ScriptFileRepository } from './providers/scripted/script-file.repository.js';
import { ResponseStore } from './responses/response.store.js';
import { CallRouter } from './routing/call-router.js';

@Module({})
export class LlmGatewayModule {
  static forRoot(_config: LlmGatewayConfig): DynamicModule {
    return {
      module: LlmGatewayModule,
      controllers: [ModelsController, ResponsesController],
      providers: [
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        { provide: Environment, useValue: new Environment() },
        ApiKeyGuard,
        ApiRoutes,
        InFlightCalls,
        ChatCompletionsHandler,
        MessagesHandler,
        ResponsesHandler,
        EmbeddingsHandler,
        CountTokensHandler,
        TokenCountService,
        ResponseStore,
        KeyRing,
        BudgetLedger,
        BudgetService,
        SpendStore,
        CallRouter,
        ChatService,
        GatewayMetrics,
        UsagePublisher,
        Random,
        SpoolFiles,
        LlmConfigSource,
        CassetteFileRepository,
        HttpTransport,
        ProviderFactory,
        ProviderRegistry,
        ScriptFileRepository,
      ],
    };
  }
}
