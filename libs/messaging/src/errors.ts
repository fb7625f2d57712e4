/** The handler failed for a reason that may pass: the message is redelivered after a delay. */
export class RetryableError extends Error {
  constructor(
    message: string,
    readonly delayMs?: number,
  ) {
    super(message);
    this.name = 'RetryableError';
  }
}

/** The message can never succeed: it goes straight to the dead-letter stream, no retry. */
export class PermanentError extends Error {
  constructor(
    message: string,
    readonly code = 'PERMANENT',
  ) {
    super(message);
    this.name = 'PermanentError';
  }
}

/** An outgoing message failed its own contract: a bug in the producer, never published. */
export class ContractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContractError';
  }
}
