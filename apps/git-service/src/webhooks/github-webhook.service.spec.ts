import { Messages, type AnyMessageDef } from '@agency/contracts';
import type { EnvelopeInit, PublishOptions, PublishResult } from '@agency/messaging';
import { closedPayload, reviewPayload, sign, webhookPull } from '../../test/support/webhook-payloads.js';
import { silentLogger } from '../../test/support/fakes.js';
import { repoRef } from '../forge/repo-ref.js';
import type { GitServiceConfig } from '../git-service.config.js';
import type { PrOriginRecord } from '../pr/pr-origin.store.js';
import { PrNewsPublisher } from '../github/pr-news.publisher.js';
import { GitHubWebhookService, WebhookRefusal } from './github-webhook.service.js';

const SECRET = 'shh';
const REPO = 'octo/greeter';

describe('GitHubWebhookService', () => {
  let published: Array<{ type: string; init: EnvelopeInit<unknown>; msgId?: string }>;
  let origins: Map<number, PrOriginRecord>;
  /** null: no secret configured. */
  const service = (secret: string | null = SECRET) =>
    new GitHubWebhookService(
      { GITHUB_WEBHOOK_SECRET: secret ?? undefined } as GitServiceConfig,
      {
        githubRepo: (name: string) =>
          name === REPO ? repoRef({ name, cloneUrl: `https://github.com/${name}.git`, base: 'main', forge: 'github' }) : undefined,
      },
      { get: async (_repo, number) => origins.get(number) },
      new PrNewsPublisher(
        { announced: async () => false, markAnnounced: async () => undefined },
        {
          publish: async <D extends AnyMessageDef>(def: D, init: EnvelopeInit<unknown>, options?: PublishOptions): Promise<PublishResult> => {
            published.push({ type: def.type, init, ...(options?.msgId ? { msgId: options.msgId } : {}) });
            return { envelope: { type: def.type }, streamSeq: published.length, duplicate: false } as PublishResult;
          },
        },
      ),
      silentLogger(),
    );
  const delivery = (event: string, payload: unknown, secret = SECRET) => {
    const raw = JSON.stringify(payload);
    return { event, deliveryId: 'guid-1', signature: sign(secret, raw), contentType: 'application/json', raw: Buffer.from(raw) };
  };

  beforeEach(() => {
    published = [];
    origins = new Map();
  });

  it('refuses everything while no secret is configured, and unsigned or mis-signed deliveries', async () => {
    const d = delivery('pull_request', closedPayload(REPO, webhookPull({ repo: REPO, number: 1, branch: 'agency/FR-1-x' })));
    await expect(service(null).handle(d)).rejects.toMatchObject({ httpStatus: 503, code: 'WEBHOOKS_NOT_CONFIGURED' });
    await expect(service().handle({ ...d, signature: undefined })).rejects.toMatchObject({ httpStatus: 401, code: 'SIGNATURE_MISSING' });
    await expect(service().handle({ ...d, signature: sign('other', d.raw.toString()) })).rejects.toMatchObject({ httpStatus: 401, code: 'SIGNATURE_INVALID' });
    await expect(service().handle({ ...d, signature: 'garbage' })).rejects.toBeInstanceOf(WebhookRefusal);
    await expect(service().handle({ ...d, raw: Buffer.from(`${d.raw.toString()} `) })).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    await expect(service().handle({ ...d, event: undefined })).rejects.toMatchObject({ httpStatus: 400, code: 'EVENT_MISSING' });
    expect(published).toEqual([]);
  });

  it('refuses a signed body that is not JSON', async () => {
    const raw = Buffer.from('not json');
    await expect(service().handle({ event: 'pull_request', signature: sign(SECRET, 'not json'), raw })).rejects.toMatchObject({
      httpStatus: 400,
      code: 'PAYLOAD_INVALID',
    });
  });

  it('routes by git-service’s record first, which beats a marker a person could edit', async () => {
    origins.set(4, { frId: 'FR-4', sagaId: 'saga-kv', jobId: 'job-kv', branch: 'agency/FR-4-x', pushes: [] });
    const body = '<!-- agency: fr=FR-4 saga=saga-forged content=ab -->';
    const out = await service().handle(delivery('pull_request', closedPayload(REPO, webhookPull({ repo: REPO, number: 4, branch: 'agency/FR-4-x', body }))));
    expect(out).toEqual({ status: 'published', type: Messages.PrClosed.type, frId: 'FR-4', sagaId: 'saga-kv', number: 4 });
    expect(published).toEqual([
      {
        type: Messages.PrClosed.type,
        init: { frId: 'FR-4', sagaId: 'saga-kv', jobId: 'job-kv', step: 'merge', attempt: 1, payload: { number: 4, url: `https://github.com/${REPO}/pull/4` } },
      },
    ]);
  });

  it('ignores a record whose FR the branch does not name', async () => {
    origins.set(4, { frId: 'FR-9', sagaId: 'saga-9', branch: 'agency/FR-9-x', pushes: [] });
    expect(
      await service().handle(delivery('pull_request', closedPayload(REPO, webhookPull({ repo: REPO, number: 4, branch: 'agency/FR-4-x' })))),
    ).toMatchObject({ status: 'ignored' });
    expect(published).toEqual([]);
  });

  it('dedupes reviews by GitHub’s delivery id, not by saga step', async () => {
    origins.set(2, { frId: 'FR-2', sagaId: 'saga-2', branch: 'agency/FR-2', pushes: [] });
    await service().handle(
      delivery(
        'pull_request_review',
        reviewPayload(REPO, webhookPull({ repo: REPO, number: 2, branch: 'agency/FR-2' }), { state: 'approved', login: 'ada', body: 'Nice' }),
      ),
    );
    expect(published).toEqual([
      expect.objectContaining({ type: Messages.PrReviewed.type, msgId: expect.stringMatching(/^github-octo\/greeter#\d+-review:\d+$/) }),
    ]);
  });
});
