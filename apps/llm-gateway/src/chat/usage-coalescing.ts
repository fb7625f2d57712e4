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

/** Up to this many calls of one group in one flush keep an event each; more are folded into one. */
export const USAGE_FOLD_ABOVE = 4;

interface Group {
  /** The group's calls while they are few; undefined once folded. */
  members?: CallUsage[];
  folded?: CoalescedUsage;
}

/**
 * The calls that end within one flush of the outbox, grouped (see groupKey) as they come. A group
 * of up to USAGE_FOLD_ABOVE calls gives an event per call, so the agency's runs (a saga makes one
 * call at a time, seconds apart) and any client at a human pace see one event per call; past that
 * (a client that tags many concurrent calls with one FR) the group is folded into one event, so a
 * busy FR costs a few events a second instead of one per call. A folded event sums tokens, cost
 * and latency and says in `calls` how many it counts. Folding on arrival keeps one payload and
 * one trace context per folded group alive until the flush, not every call's (a call's context
 * holds its span). Events come out in the order each group's first call came.
 */
export class UsageWindow {
  private groups = new Map<string, Group>();
  private events = 0;

  /** Events the window would give now. */
  get size(): number {
    return this.events;
  }

  /** Takes the call in; false when it would need another event and `room` is false (the outbox is full). */
  add(call: CallUsage, room = true): boolean {
    const key = groupKey(call);
    const group = this.groups.get(key);
    if (group?.folded) {
      add(group.folded.payload, call.payload);
      group.folded.endedAtMs = Math.max(group.folded.endedAtMs, call.endedAtMs);
      return true;
    }
    if (group?.members && group.members.length >= USAGE_FOLD_ABOVE) {
      const [first, ...rest] = group.members;
      const folded: CoalescedUsage = { ...first!, payload: { ...first!.payload } };
      for (const c of [...rest, call]) {
        add(folded.payload, c.payload);
        folded.endedAtMs = Math.max(folded.endedAtMs, c.endedAtMs);
      }
      this.events -= group.members.length - 1;
      this.groups.set(key, { folded });
      return true;
    }
    if (!room) return false;
    if (group?.members) group.members.push(call);
    else this.groups.set(key, { members: [call] });
    this.events += 1;
    return true;
  }

  /** The events so far, emptying the window. */
  take(): CoalescedUsage[] {
    const out: CoalescedUsage[] = [];
    for (const g of this.groups.values()) {
      if (g.folded) out.push(g.folded);
      else for (const c of g.members ?? []) out.push(c);
    }
    this.groups = new Map();
    this.events = 0;
    return out;
  }
}
