import { Inject, Injectable } from '@nestjs/common';
import { Messages, type PrClosedEvent, type PrMergedEvent, type PrReviewedEvent } from '@agency/contracts';
import { BusPublisher } from '@agency/messaging';
import type { PrOrigin } from '../forge/forge.js';
import type { ForgeRepoRef } from '../forge/repo-ref.js';
import { parseAgencyMarker } from '../pr/pr-body.js';
import { HUMAN_ACTION_STEP } from '../pr/pr-events.publisher.js';
import { PrOriginStore } from '../pr/pr-origin.store.js';
import { frIdOfBranch } from './github-pr.mapper.js';

/** What happened to a PR on GitHub, as the saga hears of it; a review carries GitHub's id of it (`review:<id>`, `comment:<id>`). */
export type PrNews =
  { kind: 'merged'; payload: PrMergedEvent } | { kind: 'closed'; payload: PrClosedEvent } | { kind: 'reviewed'; payload: PrReviewedEvent; newsId: string };

/** The FR run of a PR: git-service's record of it, else the body's hidden marker; the branch must name the same FR. */
export async function originOfPull(
  origins: Pick<PrOriginStore, 'get'>,
  repo: ForgeRepoRef,
  pull: { number: number; branch: string; body: string | null },
): Promise<PrOrigin | undefined> {
  const frOfBranch = frIdOfBranch(pull.branch);
  if (!frOfBranch) return undefined;
  const stored = await origins.get(repo, pull.number);
  if (stored) return stored.frId === frOfBranch ? stored : undefined;
  const marker = parseAgencyMarker(pull.body);
  if (!marker?.sagaId || marker.frId !== frOfBranch) return undefined;
  return { frId: marker.frId, sagaId: marker.sagaId, ...(marker.jobId ? { jobId: marker.jobId } : {}) };
}

/** The key a piece of news is remembered by in the PR's record. */
export function newsKeyOf(news: PrNews): string {
  return news.kind === 'reviewed' ? news.newsId : news.kind;
}

/**
 * Tells the saga what happened to a PR on GitHub, once, whoever saw it first: a webhook or the
 * poller. News already in the PR's record is not published again (a poll after a restart, a
 * webhook redelivered after JetStream's duplicate window); news published at the same moment by
 * both has one Nats-Msg-Id (merges and closes: the saga step, as a merge git-service did itself;
 * reviews: GitHub's review id), so JetStream keeps one.
 */
@Injectable()
export class PrNewsPublisher {
  constructor(
    @Inject(PrOriginStore) private readonly origins: Pick<PrOriginStore, 'announced' | 'markAnnounced'>,
    @Inject(BusPublisher) private readonly bus: Pick<BusPublisher, 'publish'>,
  ) {}

  /** Publishes `news` of PR #number to the run `origin`; the event type, or undefined when it was told before. */
  async announce(repo: ForgeRepoRef, number: number, origin: PrOrigin, news: PrNews): Promise<string | undefined> {
    const key = newsKeyOf(news);
    if (await this.origins.announced(repo, number, key)) return undefined;
    const init = { frId: origin.frId, sagaId: origin.sagaId, step: HUMAN_ACTION_STEP, attempt: 1, ...(origin.jobId ? { jobId: origin.jobId } : {}) };
    let type: string;
    if (news.kind === 'merged') type = (await this.bus.publish(Messages.PrMerged, { ...init, payload: news.payload })).envelope.type;
    else if (news.kind === 'closed') type = (await this.bus.publish(Messages.PrClosed, { ...init, payload: news.payload })).envelope.type;
    else
      type = (await this.bus.publish(Messages.PrReviewed, { ...init, payload: news.payload }, { msgId: `github-${repo.name}#${number}-${news.newsId}` }))
        .envelope.type;
    // After the publish: a crash in between repeats the news (deduped within the window), never loses it.
    await this.origins.markAnnounced(repo, number, key);
    return type;
  }
}
