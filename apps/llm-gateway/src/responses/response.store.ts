import { Injectable } from '@nestjs/common';
import type { LlmMessage } from '../providers/llm-provider.js';

/** A stored answer of the Responses API: what `previous_response_id` and `item_reference` resolve to. */
export interface StoredResponse {
  /** The gateway key that made it: only that key can read it or continue from it. */
  owner: string;
  /** The Response object as it was answered (GET /v1/responses/{id}). */
  response: object;
  /** The conversation it ended: its input (without instructions, which do not carry over) and its output. */
  conversation: LlmMessage[];
  /** Its output items by id (msg_..., fc_...), each as the assistant message it stands for. */
  items: ReadonlyMap<string, LlmMessage>;
}

/** The most responses kept, and the most bytes (their JSON size), whichever comes first: the oldest go. */
export const RESPONSE_STORE_LIMITS = { responses: 1000, bytes: 32 * 1024 * 1024 };

/**
 * Answers of `POST /v1/responses` with `store` (OpenAI's default), in memory on this replica, the
 * oldest dropped past RESPONSE_STORE_LIMITS: a client that continues a conversation by
 * `previous_response_id` or sends earlier output as `item_reference` (the Vercel AI SDK does)
 * gets it resolved here. A client of several replicas should send `store: false` and its whole
 * conversation instead.
 */
@Injectable()
export class ResponseStore {
  private readonly responses = new Map<string, { stored: StoredResponse; bytes: number }>();
  private readonly items = new Map<string, { owner: string; message: LlmMessage }>();
  private bytes = 0;
  /** Tests set smaller ones. */
  limits = RESPONSE_STORE_LIMITS;

  put(id: string, stored: StoredResponse): void {
    const bytes = JSON.stringify(stored.response).length + JSON.stringify(stored.conversation).length;
    this.responses.set(id, { stored, bytes });
    this.bytes += bytes;
    for (const [itemId, message] of stored.items) this.items.set(itemId, { owner: stored.owner, message });
    while (this.responses.size > this.limits.responses || (this.bytes > this.limits.bytes && this.responses.size > 1)) {
      const [oldest, entry] = this.responses.entries().next().value!;
      this.responses.delete(oldest);
      this.bytes -= entry.bytes;
      for (const itemId of entry.stored.items.keys()) this.items.delete(itemId);
    }
  }

  /** The response `id` if `owner` made it. */
  response(id: string, owner: string): StoredResponse | undefined {
    const stored = this.responses.get(id)?.stored;
    return stored?.owner === owner ? stored : undefined;
  }

  /** The output item `id` if `owner` made it. */
  item(id: string, owner: string): LlmMessage | undefined {
    const found = this.items.get(id);
    return found?.owner === owner ? found.message : undefined;
  }
}
