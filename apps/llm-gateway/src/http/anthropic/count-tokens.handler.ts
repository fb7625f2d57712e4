import { Injectable } from '@nestjs/common';
import { authenticate } from '../../auth/api-key.guard.js';
import { KeyRing } from '../../auth/key-ring.js';
import { TokenCountService } from '../../chat/token-count.service.js';
import { callContextFromHeaders } from '../call-headers.js';
import { sendJson, type Exchange } from '../raw-exchange.js';
import { parseMessagesRequest } from './anthropic-request.parser.js';

/**
 * Anthropic's `POST /v1/messages/count_tokens`: `{input_tokens}` for a Messages request (model,
 * system, messages, tools), counted by Anthropic for an alias whose first target is an Anthropic
 * model, else estimated (`x-agency-token-count: estimated` says which). Errors in Anthropic's format.
 */
@Injectable()
export class CountTokensHandler {
  constructor(
    private readonly counter: TokenCountService,
    private readonly keys: KeyRing,
  ) {}

  async handle({ headers, body, res }: Exchange): Promise<void> {
    const caller = authenticate(headers, this.keys);
    const parsed = parseMessagesRequest(body, { countOnly: true });
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const count = await this.counter.count(parsed.alias, parsed.body, callContextFromHeaders(headers), caller, abort.signal);
    sendJson(res, 200, { input_tokens: count.inputTokens }, { 'x-agency-token-count': count.counted ? 'counted' : 'estimated' });
  }
}
