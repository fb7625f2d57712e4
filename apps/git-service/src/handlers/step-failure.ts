import { Messages, type Envelope } from '@agency/contracts';
import { PermanentError, RetryableError, type BusPublisher } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { ForgeError } from '../forge/forge.errors.js';

/**
 * Turns a failed git-service step into what the bus expects: a fact the saga must decide about
 * (a diverged branch, a merge conflict, a closed PR) becomes a git-service.step-failed event;
 * input that can never work is dead-lettered; a passing failure is redelivered; anything else
 * is rethrown for the transport's retry-then-dead-letter.
 */
export async function reportStepFailure(bus: Pick<BusPublisher, 'reply'>, env: Envelope<unknown>, error: unknown, logger: AgencyPinoLogger): Promise<void> {
  if (!(error instanceof ForgeError)) throw error;
  switch (error.kind) {
    case 'invalid':
      throw new PermanentError(error.message, error.code);
    case 'unavailable':
      throw new RetryableError(`${error.code}: ${error.message}`);
    case 'not-found':
    case 'conflict':
      logger.warn({ code: error.code, reason: error.message }, 'step failed; telling the saga');
      await bus.reply(env, Messages.GitStepFailed, { code: error.code, reason: error.message.slice(0, 10_000), retryable: false });
  }
}
