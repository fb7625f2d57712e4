import type { LlmUsageEvent } from '@agency/contracts';
import type { Context } from '@agency/telemetry';

/** One FR-tagged call's usage as the gateway saw it, before it becomes (part of) an event. */
export interface CallUsage {
  frId: string;
  sagaId: string;
  step: string;
  jobId?: string;
  payload: LlmUsageEvent;
  /** The call's trace context: the event links to the first call of its group. */
  trace: Context;
  /** When the call ended (ms since the epoch). */
  endedAtMs: number;
}

/** The calls of one group and their summed usage: one `llm-gateway.usage` event. */
export interface CoalescedUsage extends Omit<CallUsage, 'payload'> {
  payload: LlmUsageEvent;
}

/** Calls that may share an event: same FR, saga, step and job, same model and outcome, same key. */
function groupKey(u: CallUsage): string {
  const p = u.payload;
  // NUL never occurs in these header values and names, so the parts cannot run into each other.
  return `${u.frId}\0${u.sagaId}\0${u.step}\0${u.jobId ?? ''}\0${p.alias}\0${p.provider}\0${p.model}\0${p.status}\0${p.apiKeyId ?? ''}`;
}

function add(into: LlmUsageEvent, p: LlmUsageEvent): void {
  into.inputTokens += p.inputTokens;
  into.cachedInputTokens += p.cachedInputTokens;
  if (p.cacheWriteTokens) into.cacheWriteTokens = (into.cacheWriteTokens ?? 0) + p.cacheWriteTokens;
  into.outputTokens += p.outputTokens;
  into.costUsd += p.costUsd;
  into.latencyMs += p.latencyMs;
  into.calls = (into.calls ?? 1) + (p.calls ?? 1);
}

/**
 * The calls that end within one flush of the outbox, folded as they come into one event per
 * group (see groupKey), in the order each group's first call came. A saga makes one call at a
 * time, so in the agency's own runs a group is nearly always a single call and its event is
 * exactly that call's; a client that tags many concurrent calls with one FR gets a few events a
 * second instead of one per call. Tokens, cost and latency are summed, `calls` says how many
 * (absent for one). Folding on arrival keeps only one payload and one trace context per group
 * alive until the flush, not every call's (a call's context holds its span).
 */
export class UsageWindow {
  private groups = new Map<string, CoalescedUsage>();

  get size(): number {
    return this.groups.size;
  }

  /** Folds the call in; false when it would start a group and `room` is false (the outbox is full). */
  add(call: CallUsage, room = true): boolean {
    const key = groupKey(call);
    const group = this.groups.get(key);
    if (group) {
      add(group.payload, call.payload);
      group.endedAtMs = Math.max(group.endedAtMs, call.endedAtMs);
      return true;
    }
    if (!room) return false;
    this.groups.set(key, { ...call, payload: { ...call.payload } });
    return true;
  }

  /** The groups so far, emptying the window. */
  take(): CoalescedUsage[] {
    const groups = [...this.groups.values()];
    this.groups = new Map();
    return groups;
  }
}
