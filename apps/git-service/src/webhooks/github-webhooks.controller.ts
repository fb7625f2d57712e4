import { Controller, Headers, HttpCode, HttpException, Post, Req, type RawBodyRequest } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { GitHubWebhookService, WebhookRefusal, type WebhookOutcome } from './github-webhook.service.js';

/**
 * GitHub's webhook endpoint (content type application/json or form; secret GITHUB_WEBHOOK_SECRET).
 * 202 with what was published or why nothing was; 401 unsigned or badly signed; 400 unusable;
 * 503 not configured, or the event could not be published (ask GitHub to redeliver).
 */
@Controller('forge/github')
export class GitHubWebhooksController {
  constructor(private readonly webhooks: GitHubWebhookService) {}

  @Post('webhooks')
  @HttpCode(202)
  async receive(
    @Req() req: RawBodyRequest<FastifyRequest>,
    @Headers('x-github-event') event?: string,
    @Headers('x-github-delivery') deliveryId?: string,
    @Headers('x-hub-signature-256') signature?: string,
    @Headers('content-type') contentType?: string,
  ): Promise<WebhookOutcome> {
    try {
      return await this.webhooks.handle({ event, deliveryId, signature, contentType, ...(req.rawBody ? { raw: req.rawBody } : {}) });
    } catch (e) {
      if (e instanceof WebhookRefusal) throw new HttpException({ statusCode: e.httpStatus, error: e.code, message: e.message }, e.httpStatus);
      throw new HttpException(
        {
          statusCode: 503,
          error: 'PUBLISH_FAILED',
          message: `the webhook was verified but its event could not be published (${(e as Error).message}); redeliver it`,
        },
        503,
      );
    }
  }
}
