import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { authenticate } from '../../auth/api-key.guard.js';
import { KeyRing } from '../../auth/key-ring.js';
import { ChatService } from '../../chat/chat.service.js';
import { ResponseStore } from '../../responses/response.store.js';
import { toApiError } from '../api-exception.filter.js';
import { chatCallFrom } from '../chat-call.js';
import { sendJson, type Exchange } from '../raw-exchange.js';
import { SseWriter } from '../sse.writer.js';
import { parseResponsesRequest, type ParsedResponsesRequest } from './responses-request.parser.js';
import { answerMessage, ResponsesStreamWriter, storedItems, toResponse, type ResponseBody } from './responses-response.mapper.js';

/**
 * OpenAI's `POST /v1/responses` (the Responses API, which newer OpenAI code and the Vercel AI
 * SDK's default provider call), plain JSON or (stream: true) its event stream, on every provider:
 * the request is translated to the neutral chat format and the answer back. Answers made with
 * `store` (the default) are kept for `previous_response_id` and `item_reference`. Served by
 * ApiRoutes in front of Fastify; what it throws is answered there in OpenAI's format.
 */
@Injectable()
export class ResponsesHandler {
  constructor(
    private readonly chat: ChatService,
    private readonly keys: KeyRing,
    private readonly store: ResponseStore,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  async handle({ headers, body, res }: Exchange): Promise<void> {
    const caller = authenticate(headers, this.keys);
    const parsed = parseResponsesRequest(body, { response: (id) => this.store.response(id, caller.id), item: (id) => this.store.item(id, caller.id) });
    const call = chatCallFrom(headers, res, caller, parsed.alias, parsed.body);
    if (!parsed.stream) {
      const response = toResponse(await this.chat.complete(call), parsed.echo);
      this.keep(parsed, response, caller.id);
      sendJson(res, 200, response);
      return;
    }
    const sse = new SseWriter(res);
    const writer = new ResponsesStreamWriter(sse, parsed.echo);
    try {
      const outcome = await this.chat.stream(call, {
        open: (meta) => {
          sse.open();
          writer.start(meta);
        },
        piece: (event) => writer.piece(event),
      });
      this.keep(parsed, writer.finish(outcome), caller.id);
    } catch (error) {
      if (!sse.isOpen) throw error;
      const api = toApiError(error);
      if (api.getStatus() >= 500) this.logger.error({ err: error }, 'stream failed');
      writer.fail(api);
    }
  }

  private keep(parsed: ParsedResponsesRequest, response: ResponseBody, owner: string): void {
    if (!parsed.store) return;
    this.store.put(response.id, {
      owner,
      response,
      conversation: [...parsed.conversation, answerMessage(response)],
      items: storedItems(response),
    });
  }
}
