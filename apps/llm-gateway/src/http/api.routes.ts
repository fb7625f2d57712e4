import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { Admission, InFlightCalls } from '../common/in-flight-calls.js';
import { CountTokensHandler } from './anthropic/count-tokens.handler.js';
import { MessagesHandler } from './anthropic/messages.handler.js';
import { ApiError } from './api-error.js';
import { errorBodyFor, toApiError } from './api-exception.filter.js';
import { GATEWAY_BODY_LIMIT_BYTES } from './limits.js';
import { ChatCompletionsHandler } from './openai/chat-completions.handler.js';
import { EmbeddingsHandler } from './openai/embeddings.handler.js';
import { ResponsesHandler } from './responses/responses.handler.js';
import { readJsonBody, sendJson, type Exchange } from './raw-exchange.js';

interface ChatHandler {
  handle(exchange: Exchange): Promise<void>;
}

/** Seconds a client refused at shutdown waits before trying again (by then another replica, or this one restarted, answers). */
export const SHUTDOWN_RETRY_AFTER_S = 1;

/** The answer to a call that arrives while the gateway stops; `connection: close` so a kept-alive client reconnects (to another replica). */
export function shuttingDownError(): ApiError {
  return new ApiError(503, 'The gateway is shutting down and takes no new calls; send the call again.', 'server_error', 'shutting_down', null, {
    'retry-after': String(SHUTDOWN_RETRY_AFTER_S),
    connection: 'close',
  });
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
 * (toApiError, in the route's format), including 413, 415 and malformed JSON. Each call is counted
 * in InFlightCalls until both its handler and its response are done, so a shutdown waits for it;
 * once the shutdown began, a new call gets shuttingDownError().
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
    private readonly calls: InFlightCalls,
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
      if (handler) this.admit(handler, req, res);
      else for (const listener of framework) listener.call(server, req, res);
    });
  }

  private admit(handler: ChatHandler, req: IncomingMessage, res: ServerResponse): void {
    if (this.calls.admit() === Admission.RefuseShuttingDown) {
      req.resume();
      const error = shuttingDownError();
      sendJson(res, error.getStatus(), errorBodyFor(req.url ?? '', error, req.headers), error.headers);
      return;
    }
    // A handler may still charge after its response closed (a client that left), and a response
    // may still be sending after its handler returned: the call ends when both did.
    let parts = 2;
    const ended = () => {
      if (--parts > 0) return;
      this.calls.ended();
      // The server's close waits for every open connection: a kept-alive one would hold the shutdown until it times out.
      if (this.calls.stopping) req.socket.end();
    };
    res.once('close', ended);
    void this.serve(handler, req, res).finally(ended);
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
