import { Injectable } from '@nestjs/common';
import { Messages, type LlmUsageEvent } from '@agency/contracts';
import { BusPublisher, Clock } from '@agency/messaging';
import type { LlmCallContext } from '../providers/llm-provider.js';

/** Step recorded when the caller sends no x-agency-step header. */
export const DEFAULT_USAGE_STEP = 'llm';

/**
 * Publishes one `llm-gateway.usage` event per call that names an FR. The saga, step and job come
 * from the call's headers; without a saga header the FR id stands in for it (calls made outside
 * a run, e.g. by a tool). Each call gets its own Nats-Msg-Id: the default dedupe key
 * (saga:step:attempt:type) would drop every call of a step but the first.
 */
@Injectable()
export class UsagePublisher {
  constructor(
    private readonly bus: BusPublisher,
    private readonly clock: Clock,
  ) {}

  async publish(context: LlmCallContext & { frId: string }, payload: LlmUsageEvent): Promise<void> {
    await this.bus.publish(
      Messages.LlmUsage,
      {
        frId: context.frId,
        sagaId: context.sagaId ?? context.frId,
        step: context.step ?? DEFAULT_USAGE_STEP,
        attempt: 1,
        ...(context.jobId ? { jobId: context.jobId } : {}),
        payload,
      },
      { msgId: `llm-usage:${this.clock.uuid()}` },
    );
  }
}
