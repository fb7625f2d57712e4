import type { Envelope } from '@agency/contracts';
import type { CallContext } from '@agency/llm-client';

/** The job a command belongs to; its worktree is named by it. The saga's id stands in before the registry assigns one. */
export function jobIdOf(env: Pick<Envelope<unknown>, 'jobId' | 'sagaId'>): string {
  return env.jobId ?? env.sagaId;
}

/** Headers that let the gateway account a model call to its FR, job, saga and step, and cap it at the FR's budget. */
export function callContextOf(env: Envelope<unknown>, frBudgetUsd?: number, signal?: AbortSignal): CallContext {
  return {
    frId: env.frId,
    sagaId: env.sagaId,
    step: env.step,
    ...(env.jobId ? { jobId: env.jobId } : {}),
    ...(frBudgetUsd !== undefined ? { frBudgetUsd } : {}),
    ...(signal ? { signal } : {}),
  };
}
