import { Body, Controller, HttpCode, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { ApiKeyGuard, apiKeyIdOf } from '../auth/api-key.guard.js';
import { ChatService, type ChatCall, type CompletionMeta } from '../chat/chat.service.js';
import { callContextFromHeaders } from './call-headers.js';
import { toOpenAiError } from './openai-exception.filter.js';
import { parseChatRequest } from './openai-request.parser.js';
import { finishChunk, pieceChunk, roleChunk, toCompletion, usageChunk } from './openai-response.mapper.js';
import { SseWriter } from './sse.writer.js';

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** OpenAI's `POST /v1/chat/completions`, plain JSON or (stream: true) server-sent events. */
@Controller('v1')
@UseGuards(ApiKeyGuard)
export class ChatCompletionsController {
  constructor(
    private readonly chat: ChatService,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  @Post('chat/completions')
  @HttpCode(200)
  async create(@Body() body: unknown, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const parsed = parseChatRequest(body);
    const abort = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    const call: ChatCall = {
      alias: parsed.alias,
      body: parsed.body,
      context: callContextFromHeaders(request.headers),
      apiKeyId: apiKeyIdOf(request),
      traceHeader: (name) => header(request, name),
      signal: abort.signal,
    };
    if (!parsed.stream) {
      const outcome = await this.chat.complete(call);
      await reply.status(200).send(toCompletion(outcome));
      return;
    }
    const sse = new SseWriter(reply);
    let meta: CompletionMeta | undefined;
    try {
      const outcome = await this.chat.stream(call, {
        open: (m) => {
          meta = m;
          sse.open();
          sse.data(roleChunk(m));
        },
        piece: (event) => sse.data(pieceChunk(meta!, event)),
      });
      sse.data(finishChunk(outcome));
      if (parsed.includeUsage) sse.data(usageChunk(outcome));
      sse.done();
    } catch (error) {
      // Before the stream opened the exception filter answers with a proper status; after, the
      // status is already 200 and the error travels as an event, as OpenAI sends it.
      if (!sse.isOpen) throw error;
      const openAi = toOpenAiError(error);
      if (openAi.getStatus() >= 500) this.logger.error({ err: error }, 'stream failed');
      sse.data(openAi.body());
      sse.end();
    }
  }
}
