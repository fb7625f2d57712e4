import { randomUUID } from 'node:crypto';
import { BadRequestException, Body, Controller, Get, HttpCode, Inject, Param, ParseIntPipe, Post, Query } from '@nestjs/common';
import type { PrReviewedEvent } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import type { CloseOutcome, MergeMethod, MergeOutcome, PrDiff, PrState, PullRequestRecord } from '../forge/forge.js';
import { PrEventsPublisher } from '../pr/pr-events.publisher.js';
import { PullRequestService } from '../pr/pull-request.service.js';
import { ForgeConfigRepository } from '../vault/forge-config.repository.js';
import { announceFailed, asHttp } from './http-errors.js';

const STATES: readonly PrState[] = ['open', 'merged', 'closed'];
const METHODS: readonly MergeMethod[] = ['merge', 'squash', 'rebase'];
const REVIEW_STATES: readonly PrReviewedEvent['state'][] = ['approved', 'changes_requested', 'commented'];

/** A review as a person posts it; checked here because the local forge has no webhook schema in front of it. */
function reviewOf(body: unknown): Omit<PrReviewedEvent, 'number'> {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const problems: string[] = [];
  if (!REVIEW_STATES.includes(b.state as PrReviewedEvent['state']))
    problems.push(`state must be one of ${REVIEW_STATES.join(', ')}, got ${JSON.stringify(b.state)}`);
  if (typeof b.author !== 'string' || !b.author.trim() || b.author.length > 200) problems.push('author must be a name of 1 to 200 characters');
  if (b.body !== undefined && (typeof b.body !== 'string' || b.body.length > 65_536)) problems.push('body must be text of at most 65536 characters');
  if (problems.length) throw new BadRequestException(problems.join('; '));
  return { state: b.state as PrReviewedEvent['state'], author: (b.author as string).trim(), body: (b.body as string | undefined) ?? '' };
}

function prNumber(n: number): number {
  if (n < 1) throw new BadRequestException(`PR number must be 1 or more, got ${n}`);
  return n;
}

/** The local forge for humans and the CLI: list, read (with diff), merge and close PRs. */
@Controller('forge/local/repos/:owner/:name/pulls')
export class LocalPullsController {
  constructor(
    private readonly prs: PullRequestService,
    private readonly events: PrEventsPublisher,
    @Inject(ForgeConfigRepository) private readonly forgeConfig: Pick<ForgeConfigRepository, 'localRepo'>,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  @Get()
  list(@Param('owner') owner: string, @Param('name') name: string, @Query('state') state?: string): Promise<{ pulls: PullRequestRecord[] }> {
    if (state !== undefined && !STATES.includes(state as PrState)) throw new BadRequestException(`state must be one of ${STATES.join(', ')}, got "${state}"`);
    return asHttp(async () => {
      const pulls = await this.prs.list(this.forgeConfig.localRepo(owner, name));
      return { pulls: state ? pulls.filter((p) => p.state === state) : pulls };
    });
  }

  @Get(':number')
  get(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('number', ParseIntPipe) number: number,
  ): Promise<PullRequestRecord & { diff: PrDiff }> {
    return asHttp(() => this.prs.getWithDiff(this.forgeConfig.localRepo(owner, name), prNumber(number)));
  }

  /**
   * A person's merge, then the saga is told (again, if it was merged already). Unlike the saga's
   * merge command it may merge a draft: the person pressing merge is the approval.
   */
  @Post(':number/merge')
  @HttpCode(200)
  async merge(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('number', ParseIntPipe) number: number,
    @Body() body?: { method?: string },
  ): Promise<{ pull: PullRequestRecord; alreadyMerged: boolean }> {
    const method = body?.method ?? 'merge';
    if (!METHODS.includes(method as MergeMethod)) throw new BadRequestException(`method must be one of ${METHODS.join(', ')}, got "${method}"`);
    const outcome: MergeOutcome = await asHttp(() =>
      this.prs.merge(this.forgeConfig.localRepo(owner, name), prNumber(number), method as MergeMethod, { allowDraft: true }),
    );
    try {
      await this.events.merged(outcome.pr);
    } catch (e) {
      this.logger.error({ err: e, number, url: outcome.pr.url }, 'PR merged but the pr-merged event was not published');
      throw announceFailed(`PR #${number} is merged`, e);
    }
    return { pull: outcome.pr, alreadyMerged: outcome.alreadyMerged };
  }

  /**
   * A person's review of the PR, as GitHub's review webhook would bring it: "changes_requested"
   * sends the FR back to the coder with the body as the finding (the saga decides).
   */
  @Post(':number/reviews')
  @HttpCode(202)
  async review(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('number', ParseIntPipe) number: number,
    @Body() body?: unknown,
  ): Promise<{ published: true; number: number }> {
    const review = reviewOf(body);
    const pr = await asHttp(() => this.prs.get(this.forgeConfig.localRepo(owner, name), prNumber(number)));
    if (pr.state !== 'open') throw new BadRequestException(`PR #${number} is ${pr.state}; only an open PR can be reviewed`);
    try {
      await this.events.reviewed(pr, review, randomUUID());
    } catch (e) {
      this.logger.error({ err: e, number, url: pr.url }, 'the pr-reviewed event was not published');
      throw announceFailed(`the review of PR #${number} was received`, e);
    }
    return { published: true, number };
  }

  @Post(':number/close')
  @HttpCode(200)
  async close(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('number', ParseIntPipe) number: number,
  ): Promise<{ pull: PullRequestRecord; alreadyClosed: boolean }> {
    const outcome: CloseOutcome = await asHttp(() => this.prs.close(this.forgeConfig.localRepo(owner, name), prNumber(number)));
    try {
      await this.events.closed(outcome.pr);
    } catch (e) {
      this.logger.error({ err: e, number, url: outcome.pr.url }, 'PR closed but the pr-closed event was not published');
      throw announceFailed(`PR #${number} is closed`, e);
    }
    return { pull: outcome.pr, alreadyClosed: outcome.alreadyClosed };
  }
}
