import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { CountTokensHandler } from './anthropic/count-tokens.handler.js';
import { MessagesHandler } from './anthropic/messages.handler.js';
import { errorBodyFor, toApiError } from './api-exception.filter.js';
import { GATEWAY_BODY_LIMIT_BYTES } from './limits.js';
import { ChatCompletionsHandler } from './openai/chat-completions.handler.js';
import { EmbeddingsHandler } from './openai/embeddings.handler.js';
import { ResponsesHandler } from './responses/responses.handler.js';
import { readJsonBody, sendJson, type Exchange } from './raw-exchange.js';

interface ChatHandler {
  handle(exchange: Exchange): Promise<void>;
}

function pathOf(url: string | undefined): string {
  const q = url?.indexOf('?') ?? -1;
  return q < 0 ? (url ?? '') : url!.slice(0, q);
}

/**
 * Serves the POST routes of the API (the chat routes are the hot path) straight from node's HTTP server, in front of
 * Fastify: Fastify's lifecycle plus the hooks Nest adds to every route cost more per request
 * than the gateway's own work. Everything else (models, health, metrics, unknown routes) goes on
 * to Fastify and Nest as before. Errors are answered like ApiExceptionFilter answers them
 * (toApiError, in the route's format), including 413, 415 and malformed JSON.
 */
@Injectable()
export class ApiRoutes implements OnModuleInit {
  private readonly routes: ReadonlyMap<string, ChatHandler>;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    completions: ChatCompletionsHandler,
    messages: MessagesHandler,
    responses: ResponsesHandler,
    embeddings: EmbeddingsHandler,
    countTokens: CountTokensHandler,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {
    this.routes = new Map<string, ChatHandler>([
      ['/v1/chat/completions', completions],
      ['/v1/messages', messages],
      ['/v1/responses', responses],
      ['/v1/embeddings', embeddings],
      ['/v1/messages/count_tokens', countTokens],
    ]);
  }

  onModuleInit(): void {
    const server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    const framework = server.listeners('request') as RequestListener[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const handler = req.method === 'POST' ? this.routes.get(pathOf(req.url)) : undefined;
      if (handler) void this.serve(handler, req, res);
      else for (const listener of framework) listener.call(server, req, res);
    });
  }

  private async serve(handler: ChatHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await readJsonBody(req, GATEWAY_BODY_LIMIT_BYTES);
      await handler.handle({ headers: req.headers, body, res });
    } catch (error) {
      const api = toApiError(error);
      if (api.getStatus() >= 500) this.logger.error({ err: error, status: api.getStatus() }, 'request failed');
      if (res.headersSent) {
        if (!res.writableEnded) res.end();
        return;
      }
      sendJson(res, api.getStatus(), errorBodyFor(req.url ?? '', api, req.headers), api.headers);
    }
  }
}
