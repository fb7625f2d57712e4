import type { SagaSummary } from '@agency/contracts';
import { FailureCode, runFailure } from './failure-code.js';

const saga = (state: SagaSummary['state'], step: string, failure?: string): SagaSummary => ({
  frId: 'FR-001',
  sagaId: 's1',
  title: 't',
  state,
  step,
  attempt: 1,
  round: 1,
  costUsd: 0,
  traceId: 'x',
  updatedAt: '2026-01-01T00:00:00Z',
  ...(failure ? { failure } : {}),
});

describe('runFailure', () => {
  it('is none for a run that reached its end or a gate', () => {
    expect(runFailure(saga('awaiting-merge', 'open-pr-r1'), [])).toBeUndefined();
    expect(runFailure(saga('done', 'merge-r1'), [])).toBeUndefined();
  });

  it('names a run that never settled a timeout', () => {
    expect(runFailure(undefined, ['LLM_TIMEOUT: slow'])).toEqual({ code: FailureCode.Timeout });
  });

  it('classifies by the step the run failed in, keeping the pipeline code', () => {
    expect(runFailure(saga('failed', 'code-r1', 'EMPTY_CHANGE: round 1: nothing'), [])).toEqual({ code: FailureCode.CodeFailed, pipelineCode: 'EMPTY_CHANGE' });
    expect(runFailure(saga('failed', 'plan', 'LLM_ANSWER_INVALID: not json'), [])).toEqual({
      code: FailureCode.PlanFailed,
      pipelineCode: 'LLM_ANSWER_INVALID',
    });
    expect(runFailure(saga('failed', 'test-r2', 'SANDBOX_BUSY: x'), [])).toMatchObject({ code: FailureCode.TestFailed });
    expect(runFailure(saga('failed', 'open-pr-r1', 'BRANCH_REFUSED: x'), [])).toMatchObject({ code: FailureCode.PrFailed });
    expect(runFailure(saga('failed', 'route', 'INVALID: x'), [])).toMatchObject({ code: FailureCode.RouteFailed });
    expect(runFailure(saga('failed', 'somewhere', 'ODD: x'), [])).toEqual({ code: FailureCode.Other, pipelineCode: 'ODD' });
  });

  it('lets codes that say more than their step win, and the state name blocked and cancelled runs', () => {
    expect(runFailure(saga('failed', 'code-r2', 'BUDGET_EXCEEDED: $2 spent'), [])).toEqual({
      code: FailureCode.BudgetExceeded,
      pipelineCode: 'BUDGET_EXCEEDED',
    });
    expect(runFailure(saga('failed', 'test-r1', 'ENV_SETUP_FAILED: npm ci exit 1'), [])).toMatchObject({ code: FailureCode.EnvSetupFailed });
    expect(runFailure(saga('failed', 'code-r1', 'STEP_TIMEOUT: code-r1 timed out 3 time(s)'), [])).toMatchObject({ code: FailureCode.StepTimeout });
    expect(runFailure(saga('failed', 'review-r3', 'REVIEW_REJECTED: no'), [])).toMatchObject({ code: FailureCode.ReviewFailed });
    expect(runFailure(saga('blocked', 'code-r1', 'DEAD_LETTER: x'), [])).toMatchObject({ code: FailureCode.Blocked });
    expect(runFailure(saga('cancelled', 'plan', 'CANCELLED: by eval'), [])).toMatchObject({ code: FailureCode.Cancelled });
    expect(runFailure(saga('cancelled', 'plan'), [])).toEqual({ code: FailureCode.Cancelled });
  });

  it('takes the last step failure when the saga gives no code', () => {
    expect(runFailure(saga('failed', 'code-r1'), ['LLM_TIMEOUT: a', 'STEP_LIMIT: b'])).toEqual({ code: FailureCode.CodeFailed, pipelineCode: 'STEP_LIMIT' });
  });
});
