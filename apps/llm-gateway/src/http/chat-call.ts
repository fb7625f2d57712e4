import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { CallerKey } from '../auth/key-ring.js';
import type { ChatCall } from '../chat/chat.service.js';
import type { LlmChatBody } from '../providers/llm-provider.js';
import { callContextFromHeaders, deadlineFromHeaders, frBudgetFromHeaders } from './call-headers.js';

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A chat call from an authenticated request: tags, budget, trace context, and an abort when the client leaves. */
export function chatCallFrom(headers: IncomingHttpHeaders, res: ServerResponse, caller: CallerKey, alias: string, body: LlmChatBody): ChatCall {
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  const frBudgetUsd = frBudgetFromHeaders(headers);
  const deadlineMs = deadlineFromHeaders(headers);
  return {
    alias,
    body,
    context: callContextFromHeaders(headers),
    caller,
    ...(frBudgetUsd !== undefined ? { frBudgetUsd } : {}),
    ...(deadlineMs !== undefined ? { deadlineMs } : {}),
    traceHeader: (name) => header(headers, name),
    signal: abort.signal,
  };
}
