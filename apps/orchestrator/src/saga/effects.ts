import type { JobOutcome, SagaState } from '@agency/contracts';

/**
 * What a transition makes happen outside the saga record. `decide` returns them with the next
 * record, which keeps them in its outbox until the interpreter has carried them out, so none is
 * lost to a crash. Each has an id made of the saga, the transition's number and the effect's
 * name: carrying one out again publishes under the same Nats-Msg-Id (deduplicated), and two
 * different effects never share one.
 */
export const EFFECT_KINDS = ['step', 'draft-pr', 'refresh-pr', 'fr-file', 'state-changed', 'complete-job', 'cleanup', 'close-pr', 'close-branch'] as const;
export type EffectKind = (typeof EFFECT_KINDS)[number];

interface Base<K extends EffectKind> {
  id: string;
  /** The number of the transition that decided it. */
  seq: number;
  kind: K;
}

export type Effect =
  /** The command the record's current step waits on, rendered from the record (saga.steps.ts); a backed-off retry waits for `notBefore`. */
  | (Base<'step'> & { step: string; attempt: number; notBefore?: string })
  /** The draft PR of the round just tested, so people see the work as it happens (not waited on). */
  | (Base<'draft-pr'> & { round: number })
  /** The open PR's description rendered again from the record: a model call's cost arrived after the PR opened. */
  | (Base<'refresh-pr'> & { round: number })
  /** Move the FR file to the folder of the record's state, write its fields, append `log` to its Agency log. */
  | (Base<'fr-file'> & { log?: string })
  | (Base<'state-changed'> & { from: SagaState; to: SagaState })
  /** Free the lap's registry slot with its outcome. */
  | (Base<'complete-job'> & { jobId: string; outcome: JobOutcome; reason?: string })
  /** Remove the lap's worktree; `cancel` also stops whatever of the job still runs and refuses its later steps. */
  | (Base<'cleanup'> & { jobId: string; reason: string; cancel: boolean })
  | (Base<'close-pr'> & { number: number; reason: string; deleteBranch: boolean })
  /** A branch whose PR the saga does not know (a draft may be in flight): its open PR closed, the branch deleted unless kept. */
  | (Base<'close-branch'> & { branch: string; reason: string; deleteBranch: boolean });

type Without<E> = E extends unknown ? Omit<E, 'id' | 'seq'> : never;
export type EffectSpec = Without<Effect>;

/** The effect's id: saga, transition number, name (the kind, with a suffix where one transition has several of a kind). */
export function effectId(sagaId: string, seq: number, spec: EffectSpec): string {
  const suffix = spec.kind === 'close-pr' ? `-${spec.number}` : spec.kind === 'close-branch' ? `-${spec.branch.replace(/[^A-Za-z0-9_.-]/g, '_')}` : '';
  return `${sagaId}:t${seq}:${spec.kind}${suffix}`;
}

export function withIds(sagaId: string, seq: number, specs: readonly EffectSpec[]): Effect[] {
  return specs.map((spec) => ({ ...spec, id: effectId(sagaId, seq, spec), seq }) as Effect);
}

/** Whether an effect may be carried out now (a backed-off retry waits for its time). */
export function isDue(effect: Effect, nowMs: number): boolean {
  return effect.kind !== 'step' || !effect.notBefore || Date.parse(effect.notBefore) <= nowMs;
}
