import { BadRequestException, Body, Controller, Get, HttpCode, Inject, Param, ParseIntPipe, Post, Query } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import type { CloseOutcome, MergeMethod, MergeOutcome, PrDiff, PrState, PullRequestRecord } from '../forge/forge.js';
import { PrEventsPublisher } from '../pr/pr-events.publisher.js';
import { PullRequestService } from '../pr/pull-request.service.js';
import { ForgeConfigRepository } from '../vault/forge-config.repository.js';
import { announceFailed, asHttp } from './http-errors.js';

const STATES: readonly PrState[] = ['open', 'merged', 'closed'];
const METHODS: readonly MergeMethod[] = ['merge', 'squash', 'rebase'];

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
  get(@Param('owner') owner: string, @Param('name') name: string, @Param('number', ParseIntPipe) number: number): Promise<PullRequestRecord & { diff: PrDiff }> {
    return asHttp(() => this.prs.getWithDiff(this.forgeConfig.localRepo(owner, name), prNumber(number)));
  }

  /** Merges like the saga's merge command does, then tells the saga (again, if it was merged already). */
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
    const outcome: MergeOutcome = await asHttp(() => this.prs.merge(this.forgeConfig.localRepo(owner, name), prNumber(number), method as MergeMethod));
    try {
      await this.events.merged(outcome.pr);
    } catch (e) {
      this.logger.error({ err: e, number, url: outcome.pr.url }, 'PR merged but the pr-merged event was not published');
      throw announceFailed(`PR #${number} is merged`, e);
    }
    return { pull: outcome.pr, alreadyMerged: outcome.alreadyMerged };
  }

  @Post(':number/close')
  @HttpCode(200)
  async close(@Param('owner') owner: string, @Param('name') name: string, @Param('number', ParseIntPipe) number: number): Promise<{ pull: PullRequestRecord; alreadyClosed: boolean }> {
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
