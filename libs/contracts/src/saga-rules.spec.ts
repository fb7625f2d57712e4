import { allowedActions, gateOf, isStopped, isTerminal, SAGA_STATES, sagaStage, stepOf, type SagaState } from './saga-rules.js';

const table = <T>(f: (s: SagaState) => T) => Object.fromEntries(SAGA_STATES.map((s) => [s, f(s)]));

describe('saga rules', () => {
  it('sorts every state into a stage: the agency works, a person decides, it ended well, or it stopped', () => {
    expect(table(sagaStage)).toEqual({
      discovered: 'running',
      routed: 'running',
      queued: 'running',
      planning: 'running',
      'awaiting-plan-approval': 'waiting',
      coding: 'running',
      testing: 'running',
      reviewing: 'running',
      fixing: 'running',
      'opening-pr': 'running',
      'awaiting-merge': 'waiting',
      done: 'done',
      failed: 'stopped',
      cancelled: 'stopped',
      blocked: 'stopped',
    });
  });

  it('opens the plan gate and the PR gate only where the run waits for a person', () => {
    expect(SAGA_STATES.filter((s) => gateOf(s))).toEqual(['awaiting-plan-approval', 'awaiting-merge']);
    expect([gateOf('awaiting-plan-approval'), gateOf('awaiting-merge')]).toEqual(['plan', 'pr']);
  });

  it('allows approve and reject at a gate, cancel until the run ends, retry once it stopped', () => {
    const on = (s: SagaState) =>
      Object.entries(allowedActions(s))
        .filter(([, ok]) => ok)
        .map(([a]) => a)
        .join(' ');
    expect(table(on)).toEqual({
      discovered: 'cancel',
      routed: 'cancel',
      queued: 'cancel',
      planning: 'cancel',
      'awaiting-plan-approval': 'approve reject cancel',
      coding: 'cancel',
      testing: 'cancel',
      reviewing: 'cancel',
      fixing: 'cancel',
      'opening-pr': 'cancel',
      'awaiting-merge': 'approve reject cancel',
      done: '',
      failed: 'retry',
      cancelled: 'retry',
      blocked: 'retry',
    });
  });

  it('counts every stopped state as terminal, and done as terminal but not stopped', () => {
    expect(SAGA_STATES.filter(isTerminal)).toEqual(['done', 'failed', 'cancelled', 'blocked']);
    expect(SAGA_STATES.filter(isStopped)).toEqual(['failed', 'cancelled', 'blocked']);
  });

  it('names the step each state waits on, by round where the work is per round; none for a terminal state', () => {
    expect(table((s) => stepOf(s, 2))).toEqual({
      discovered: 'route',
      routed: 'queue',
      queued: 'queue',
      planning: 'plan',
      'awaiting-plan-approval': 'plan-approval',
      coding: 'code-r2',
      testing: 'test-r2',
      reviewing: 'review-r2',
      fixing: 'code-r2',
      'opening-pr': 'open-pr-r2',
      'awaiting-merge': 'merge-r2',
      done: '',
      failed: '',
      cancelled: '',
      blocked: '',
    });
  });
});
