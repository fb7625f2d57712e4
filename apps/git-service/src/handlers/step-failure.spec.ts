import { Messages } from '@agency/contracts';
import { sampleEnvelope } from '@agency/contracts/testing';
import { PermanentError, RetryableError } from '@agency/messaging';
import { silentLogger } from '../../test/support/fakes.js';
import { conflict, invalid, notFound, unavailable } from '../forge/forge.errors.js';
import { reportStepFailure } from './step-failure.js';

describe('reportStepFailure', () => {
  const env = sampleEnvelope('MergePr', { step: 'merge', attempt: 2 });
  let replies: Array<{ type: string; payload: unknown }>;
  const bus = {
    reply: async (_env: unknown, def: { type: string }, payload: unknown) => {
      replies.push({ type: def.type, payload });
      return { envelope: env, streamSeq: 1, duplicate: false };
    },
  };

  beforeEach(() => {
    replies = [];
  });

  it.each([conflict('MERGE_CONFLICT', 'does not merge'), notFound('PR_NOT_FOUND', 'no PR #9')])(
    'tells the saga about %s with a step-failed event',
    async (error) => {
      await reportStepFailure(bus, env, error, silentLogger());
      expect(replies).toEqual([{ type: Messages.GitStepFailed.type, payload: { code: error.code, reason: error.message, retryable: false } }]);
    },
  );

  it('dead-letters input that can never work, keeping the code', async () => {
    const e = await reportStepFailure(bus, env, invalid('BRANCH_REFUSED', 'refusing to push branch "main"'), silentLogger()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PermanentError);
    expect(e).toMatchObject({ code: 'BRANCH_REFUSED', message: 'refusing to push branch "main"' });
    expect(replies).toEqual([]);
  });

  it('asks for a redelivery when the failure may pass', async () => {
    await expect(reportStepFailure(bus, env, unavailable('PUSH_REJECTED', 'ref moved'), silentLogger())).rejects.toBeInstanceOf(RetryableError);
  });

  it('rethrows anything else for the transport to retry', async () => {
    const boom = new Error('boom');
    await expect(reportStepFailure(bus, env, boom, silentLogger())).rejects.toBe(boom);
  });
});
