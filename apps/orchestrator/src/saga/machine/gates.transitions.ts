import { gateOf } from '@agency/contracts';
import { codeStep, ignore, type Decision, type EventOf, type Transition } from './decision.js';

/** A person's decision at the plan gate or the PR gate. */
export function onGate(t: Transition, e: EventOf<'approve' | 'reject'>): Decision {
  const r = t.record;
  const { gate, by, comment } = e.env.payload;
  const said = comment ? `: ${comment}` : '';
  const open = gateOf(r.state);
  if (gate === 'plan' && open === 'plan') {
    if (e.kind === 'reject') {
      return t.to(
        'blocked',
        r.step,
        { failure: { code: 'PLAN_REJECTED', reason: `plan rejected by ${by}${said}` } },
        { log: `plan rejected by ${by}${said}`, reason: 'plan rejected' },
      );
    }
    return t.to('coding', codeStep(1), { round: 1 }, { log: `plan approved by ${by}; coding` });
  }
  if (gate === 'pr' && open === 'pr' && r.pr) {
    // A rejected PR is closed and its branch deleted (the run's clean-up, as for a cancel).
    if (e.kind === 'reject')
      return t.to(
        'cancelled',
        r.step,
        { failure: { code: 'PR_REJECTED', reason: `PR rejected by ${by}${said}` } },
        { log: `PR rejected by ${by}${said}`, reason: 'PR rejected' },
      );
    return t.to('awaiting-merge', r.step, { mergeRequested: true }, { log: `merge approved by ${by}` });
  }
  return ignore(`no ${gate} gate is open in ${r.state}`, false);
}
