import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { authenticate } from '../../auth/api-key.guard.js';
import { KeyRing } from '../../auth/key-ring.js';
import { ChatService } from '../../chat/chat.service.js';
import { toApiError } from '../api-exception.filter.js';
import { chatCallFrom } from '../chat-call.js';
import { sendJson, type Exchange } from '../raw-exchange.js';
import { SseWriter } from '../sse.writer.js';
import { parseMessagesRequest } from './anthropic-request.parser.js';
import { AnthropicStreamWriter, toMessage } from './anthropic-response.mapper.js';

/**
 * Anthropic's `POST /v1/messages`, plain JSON or (stream: true) Anthropic's event stream, so
 * `@anthropic-ai/sdk` works against the gateway by changing only its base URL. The model is an
 * alias like on the OpenAI route. Served by ApiRoutes in front of Fastify; what it throws is
 * answered there in Anthropic's format.
 */
@Injectable()
export class MessagesHandler {
  constructor(
    private readonly chat: ChatService,
    private readonly keys: KeyRing,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  async handle({ headers, body, res }: Exchange): Promise<void> {
    const caller = authenticate(headers, this.keys);
    const parsed = parseMessagesRequest(body);
    const call = chatCallFrom(headers, res, caller, parsed.alias, parsed.body);
    if (!parsed.stream) {
      const outcome = await this.chat.complete(call);
      sendJson(res, 200, toMessage(outcome));
      return;
    }
    const sse = new SseWriter(res);
    const writer = new AnthropicStreamWriter(sse);
    try {
      const outcome = await this.chat.stream(call, {
        open: (meta, start) => {
          sse.open();
          writer.start(meta, start.usage);
        },
        piece: (event) => writer.piece(event),
      });
      writer.finish(outcome);
    } catch (error) {
      if (!sse.isOpen) throw error;
      const api = toApiError(error);
      if (api.getStatus() >= 500) this.logger.error({ err: error }, 'stream failed');
      writer.fail(api);
    }
  }
}
