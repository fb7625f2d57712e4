import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { authenticate } from '../../auth/api-key.guard.js';
import { KeyRing } from '../../auth/key-ring.js';
import { ChatService, type CompletionMeta } from '../../chat/chat.service.js';
import { toApiError } from '../api-exception.filter.js';
import { chatCallFrom } from '../chat-call.js';
import { sendJson, type Exchange } from '../raw-exchange.js';
import { SseWriter } from '../sse.writer.js';
import { parseChatRequest } from './openai-request.parser.js';
import { finishChunk, pieceChunk, roleChunk, textPieceEvents, toCompletion, usageChunk } from './openai-response.mapper.js';

/**
 * OpenAI's `POST /v1/chat/completions`, plain JSON or (stream: true) server-sent events. Served by
 * ApiRoutes in front of Fastify; what it throws is answered there in OpenAI's format.
 */
@Injectable()
export class ChatCompletionsHandler {
  constructor(
    private readonly chat: ChatService,
    private readonly keys: KeyRing,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  async handle({ headers, body, res }: Exchange): Promise<void> {
    const caller = authenticate(headers, this.keys);
    const parsed = parseChatRequest(body);
    const call = chatCallFrom(headers, res, caller, parsed.alias, parsed.body);
    if (!parsed.stream) {
      const outcome = await this.chat.complete(call);
      sendJson(res, 200, toCompletion(outcome));
      return;
    }
    const sse = new SseWriter(res);
    let meta: CompletionMeta | undefined;
    let textEvent: ((text: string) => string) | undefined;
    try {
      const outcome = await this.chat.stream(call, {
        open: (m) => {
          meta = m;
          textEvent = textPieceEvents(m);
          sse.open();
          sse.data(roleChunk(m));
        },
        piece: (event) => (event.kind === 'text' ? sse.raw(textEvent!(event.text)) : sse.data(pieceChunk(meta!, event))),
      });
      sse.data(finishChunk(outcome));
      if (parsed.includeUsage) sse.data(usageChunk(outcome));
      sse.done();
    } catch (error) {
      // Before the stream opened the exception filter answers with a proper status; after, the
      // status is already 200 and the error travels as an event, as OpenAI sends it, without
      // [DONE]: a client never mistakes a cut answer for a whole one.
      if (!sse.isOpen) throw error;
      const api = toApiError(error);
      if (api.getStatus() >= 500) this.logger.error({ err: error }, 'stream failed');
      sse.data(api.openAiBody());
      sse.end();
    }
  }
}
