import { Inject, Injectable } from '@nestjs/common';
import { Messages, type PrReviewedEvent } from '@agency/contracts';
import { BusPublisher } from '@agency/messaging';
import type { PullRequestRecord } from '../forge/forge.js';

/**
 * The saga's step while it waits for a merge; events of a human's merge or close carry it. The
 * saga accepts pr-merged/pr-closed in awaiting-merge whatever the step, and a merge it ordered
 * itself (MergePr at step "merge") dedupes with this one.
 */
export const HUMAN_ACTION_STEP = 'merge';

/** Tells the saga about a merge or close that a human did over HTTP, with the ids kept in the record. */
@Injectable()
export class PrEventsPublisher {
  constructor(@Inject(BusPublisher) private readonly bus: Pick<BusPublisher, 'publish'>) {}

  private origin(pr: PullRequestRecord) {
    return { frId: pr.frId, sagaId: pr.sagaId, step: HUMAN_ACTION_STEP, attempt: 1, ...(pr.jobId ? { jobId: pr.jobId } : {}) };
  }

  async merged(pr: PullRequestRecord): Promise<void> {
    if (!pr.mergeSha) throw new Error(`PR #${pr.number} has no merge sha; it is not merged`);
    await this.bus.publish(Messages.PrMerged, { ...this.origin(pr), payload: { number: pr.number, url: pr.url, mergeSha: pr.mergeSha } });
  }

  async closed(pr: PullRequestRecord): Promise<void> {
    await this.bus.publish(Messages.PrClosed, { ...this.origin(pr), payload: { number: pr.number, url: pr.url } });
  }

  /** A person's review; every review is news, so `reviewId` (not the saga step) dedupes it. */
  async reviewed(pr: PullRequestRecord, review: Omit<PrReviewedEvent, 'number'>, reviewId: string): Promise<void> {
    await this.bus.publish(Messages.PrReviewed, { ...this.origin(pr), payload: { number: pr.number, ...review } }, { msgId: `local-review:${reviewId}` });
  }
}
