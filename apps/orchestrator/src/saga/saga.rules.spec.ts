import fc from 'fast-check';
import { allowedActions, gateOf, isTerminal, SAGA_ACTIONS, SAGA_STATES, stepOf, type SagaAction, type SagaRecordView, type SagaState } from '@agency/contracts';
import { ev, ids, next, record, settings } from '../../test/support/saga.fixtures.js';
import { ACTIONS, SagaWorld, type Action } from '../../test/support/saga-world.js';
import { decide, type SagaEvent } from './saga.machine.js';
import type { SagaRecord } from './saga.model.js';

// The contracts' saga rules (libs/contracts saga-rules.ts) are what the dashboard and the CLI show
// of the machine: which buttons a state enables, which step a state waits on. These tests hold
// the machine to them.

/** A record in `state` as the machine leaves it: a PR at the merge gate, a stopped run with the state it stopped in. */
function recordIn(state: SagaState): SagaRecord {
  const step = stepOf(state, 1) || 'code-r1';
  return record(state, step, {
    round: 1,
    ...(state === 'awaiting-merge' || state === 'done' ? { pr: { number: 1, url: 'local://example/greeter/pulls/1', draft: false } } : {}),
    history: isTerminal(state) ? [{ at: '2026-11-24T09:30:00Z', from: 'coding', to: state }] : [],
  });
}

/** The person's action as the orchestrator's HTTP API makes it an event (http/sagas.controller.ts). */
function personal(action: SagaAction, r: SagaRecord): SagaEvent {
  if (action === 'cancel') return { kind: 'cancel', env: ids(r), by: 'ada', reason: 'not now' };
  if (action === 'retry') return { kind: 'retry', env: ids(r), by: 'ada' };
  const gate = gateOf(r.state) ?? 'pr';
  return ev(action, action === 'approve' ? 'GateApprove' : 'GateReject', r.step, { gate, by: 'ada' });
}

describe('saga machine and the contracts saga rules', () => {
  it.each(SAGA_STATES)('in %s, applies exactly the actions allowedActions enables', (state) => {
    const r = recordIn(state);
    const applied = Object.fromEntries(SAGA_ACTIONS.map((a) => [a, decide(r, personal(a, r), settings).kind === 'apply']));
    expect(applied).toEqual(allowedActions(state));
  });

  it('waits on the step stepOf names through a second round, to its PR', () => {
    const finding = { file: 'src/a.js', line: 3, severity: 'major', message: 'trim the name', blocking: true };
    const steps: [SagaEvent['kind'], Parameters<typeof ev>[1], Record<string, unknown>][] = [
      ['reviewed', 'Reviewed', { verdict: 'request-changes', findings: [finding] }],
      ['coded', 'Coded', {}],
      ['tested', 'Tested', {}],
      ['reviewed', 'Reviewed', {}],
      ['pr-opened', 'PrOpened', {}],
    ];
    let r = record('reviewing', 'review-r1', { round: 1 });
    const seen: string[] = [];
    for (const [kind, name, patch] of steps) {
      r = next(decide(r, ev(kind, name, r.step, patch), settings));
      seen.push(`${r.state}:${r.step}`);
      expect(r.step).toBe(stepOf(r.state, r.round));
    }
    expect(seen).toEqual(['fixing:code-r2', 'testing:test-r2', 'reviewing:review-r2', 'opening-pr:open-pr-r2', 'awaiting-merge:merge-r2']);
  });

  it('waits, in every state short of the end, on the step stepOf names for it (random runs, people acting)', () => {
    // As saga.properties.spec.ts: deliveries dominate so runs get far, every other action mixed in.
    const action: fc.Arbitrary<Action> = fc.record({ action: fc.constantFrom(...ACTIONS), pick: fc.nat(50), variant: fc.nat(50) });
    const deliver = action.map((a) => ({ ...a, action: 'deliver' as const }));
    const actions = fc.array(fc.oneof({ weight: 6, arbitrary: deliver }, { weight: 4, arbitrary: action }), { minLength: 10, maxLength: 120 });
    fc.assert(
      fc.property(actions, (list) => {
        const world = new SagaWorld();
        for (const a of list) {
          world.act(a);
          const r = world.record;
          if (!isTerminal(r.state)) expect(`${r.state}:${r.step}`).toBe(`${r.state}:${stepOf(r.state, r.round)}`);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('keeps a record the dashboard reads as the contracts describe it (GET /sagas/:frId)', () => {
    expectTypeOf<SagaRecord>().toExtend<SagaRecordView>();
  });
});
