import { Inject, Injectable } from '@nestjs/common';
import { Webhooks } from '@octokit/webhooks';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { GitServiceConfig } from '../git-service.config.js';
import { newsKeyOf, originOfPull, PrNewsPublisher, type PrNews } from '../github/pr-news.publisher.js';
import { PrOriginStore } from '../pr/pr-origin.store.js';
import { ForgeConfigRepository } from '../vault/forge-config.repository.js';
import { mapWebhook, WebhookPayloadError, type MappedWebhook } from './webhook-event.mapper.js';

/** A delivery as the HTTP layer hands it over: headers and the exact bytes GitHub signed. */
export interface WebhookDelivery {
  event?: string;
  deliveryId?: string;
  signature?: string;
  contentType?: string;
  raw?: Buffer;
}

export type WebhookOutcome = { status: 'published'; type: string; frId: string; sagaId: string; number: number } | { status: 'ignored'; reason: string };

/** Why a delivery was refused: the controller turns it into the HTTP status. */
export class WebhookRefusal extends Error {
  constructor(
    readonly httpStatus: 400 | 401 | 503,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookRefusal';
  }
}

/**
 * GitHub webhooks -> bus events. Verifies the X-Hub-Signature-256 HMAC with @octokit/webhooks
 * over the raw body (unsigned or badly signed deliveries are refused), maps the event, finds the
 * FR run of the PR (git-service's record, else the hidden marker in the PR body) and publishes
 * pr-merged, pr-closed or pr-reviewed to that saga, unless the poller told it first (PrNewsPublisher).
 */
@Injectable()
export class GitHubWebhookService {
  private verifier?: { secret: string; webhooks: Webhooks };

  constructor(
    private readonly config: GitServiceConfig,
    @Inject(ForgeConfigRepository) private readonly forgeConfig: Pick<ForgeConfigRepository, 'githubRepo'>,
    @Inject(PrOriginStore) private readonly origins: Pick<PrOriginStore, 'get'>,
    @Inject(PrNewsPublisher) private readonly news: Pick<PrNewsPublisher, 'announce'>,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  private webhooks(): Webhooks {
    const secret = this.config.GITHUB_WEBHOOK_SECRET;
    if (!secret)
      throw new WebhookRefusal(503, 'WEBHOOKS_NOT_CONFIGURED', 'GITHUB_WEBHOOK_SECRET is not set: git-service cannot verify GitHub webhooks and accepts none');
    if (this.verifier?.secret !== secret) this.verifier = { secret, webhooks: new Webhooks({ secret }) };
    return this.verifier.webhooks;
  }

  async handle(d: WebhookDelivery): Promise<WebhookOutcome> {
    const webhooks = this.webhooks();
    if (!d.signature)
      throw new WebhookRefusal(401, 'SIGNATURE_MISSING', 'the delivery has no X-Hub-Signature-256 header; configure the webhook with the secret');
    if (!d.raw) throw new WebhookRefusal(400, 'BODY_MISSING', 'the delivery has no body');
    const text = d.raw.toString('utf8');
    const valid = await webhooks.verify(text, d.signature).catch(() => false);
    if (!valid) throw new WebhookRefusal(401, 'SIGNATURE_INVALID', 'X-Hub-Signature-256 does not match the body and GITHUB_WEBHOOK_SECRET');
    if (!d.event) throw new WebhookRefusal(400, 'EVENT_MISSING', 'the delivery has no X-GitHub-Event header');
    let mapped: MappedWebhook;
    try {
      mapped = mapWebhook(d.event, JSON.parse(jsonOf(text, d.contentType)));
    } catch (e) {
      if (e instanceof SyntaxError || e instanceof WebhookPayloadError)
        throw new WebhookRefusal(400, 'PAYLOAD_INVALID', `the ${d.event} payload cannot be used: ${e.message}`);
      throw e;
    }
    if (mapped.kind === 'ignored') return this.ignore(d, mapped.reason);
    const repo = this.forgeConfig.githubRepo(mapped.pull.repo);
    if (!repo) return this.ignore(d, `${mapped.pull.repo} is not a github repository of agency.yaml`);
    const origin = await originOfPull(this.origins, repo, mapped.pull);
    if (!origin) return this.ignore(d, `PR #${mapped.pull.number} of ${repo.name} (${mapped.pull.branch}) was not opened by the agency`);
    const news: PrNews =
      mapped.kind === 'reviewed'
        ? { kind: 'reviewed', payload: mapped.payload, newsId: mapped.newsId }
        : mapped.kind === 'merged'
          ? { kind: 'merged', payload: mapped.payload }
          : { kind: 'closed', payload: mapped.payload };
    const type = await this.news.announce(repo, mapped.pull.number, origin, news);
    if (!type)
      return this.ignore(d, `PR #${mapped.pull.number} of ${repo.name}: this ${newsKeyOf(news)} was announced before (the poller, or an earlier delivery)`);
    this.logger.info(
      { delivery: d.deliveryId, event: d.event, type, number: mapped.pull.number, frId: origin.frId, sagaId: origin.sagaId },
      'GitHub webhook published',
    );
    return { status: 'published', type, frId: origin.frId, sagaId: origin.sagaId, number: mapped.pull.number };
  }

  private ignore(d: WebhookDelivery, reason: string): WebhookOutcome {
    this.logger.info({ delivery: d.deliveryId, event: d.event }, `GitHub webhook ignored: ${reason}`);
    return { status: 'ignored', reason };
  }
}

/** The JSON of a delivery: the body itself, or its `payload` field when the webhook sends forms. */
function jsonOf(text: string, contentType: string | undefined): string {
  if (contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    const payload = new URLSearchParams(text).get('payload');
    if (payload === null) throw new WebhookPayloadError('the form has no payload field');
    return payload;
  }
  return text;
}
