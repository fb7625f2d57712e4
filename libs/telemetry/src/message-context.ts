import { AsyncLocalStorage } from 'node:async_hooks';

/** Ids that every log line and span of the current unit of work carries. */
export interface MessageContext {
  frId?: string;
  jobId?: string;
  sagaId?: string;
  step?: string;
  messageId?: string;
  subject?: string;
}

const storage = new AsyncLocalStorage<MessageContext>();

export function runWithMessageContext<T>(ctx: MessageContext, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...ctx }, fn);
}

export function currentMessageContext(): MessageContext {
  return storage.getStore() ?? {};
}
