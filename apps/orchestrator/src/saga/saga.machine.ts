import type { SagaRecord } from './saga.model.js';
import { ignore, isTerminal, Transition, type Decision, type MachineSettings, type SagaEvent } from './machine/decision.js';
import { onDeadLettered, onStepFailed, onTimeout, onUsage } from './machine/failure.transitions.js';
import { onGate } from './machine/gates.transitions.js';
import { onPrClosed, onPrMerged, onPrOpened, onPrReviewed } from './machine/pr.transitions.js';
import { onDispatched, onQueued, onScored } from './machine/routing.transitions.js';
import { onCancel, onRetry } from './machine/runs.transitions.js';
import { onCoded, onPlanned, onReviewed, onTested } from './machine/work.transitions.js';

export * from './machine/decision.js';
export { startEffects } from './machine/runs.transitions.js';

/**
 * The saga as a pure function: the current record and an event in; the next record and the
 * effects of the move out (or why the event changes nothing). The transitions live by concern
 * in machine/: routing, work (coding and review), the PR, gates, failures and budget, runs.
 */
export function decide(record: SagaRecord, event: SagaEvent, settings: MachineSettings): Decision {
  const t = new Transition(record, settings);
  // Cost is counted in any state (usage of a finished step may arrive late); a retry starts a stopped run again.
  if (event.kind === 'usage') return onUsage(t, event);
  if (event.kind === 'retry') return onRetry(t, event);
  if (isTerminal(record.state)) return ignore(`saga is ${record.state}`, event.kind !== 'cancel');
  switch (event.kind) {
    case 'cancel':
      return onCancel(t, event);
    case 'timeout':
      return onTimeout(t, event);
    case 'heartbeat':
      return event.env.step === record.step ? t.update({ lastHeartbeatAt: t.at }) : ignore(`heartbeat for ${event.env.step}, saga waits for ${record.step}`);
    case 'scored':
      return onScored(t, event);
    case 'queued':
      return onQueued(t, event);
    case 'dispatched':
      return onDispatched(t, event);
    case 'planned':
      return onPlanned(t, event);
    case 'coded':
      return onCoded(t, event);
    case 'tested':
      return onTested(t, event);
    case 'reviewed':
      return onReviewed(t, event);
    case 'approve':
    case 'reject':
      return onGate(t, event);
    case 'pr-opened':
      return onPrOpened(t, event);
    case 'pr-merged':
      return onPrMerged(t, event);
    case 'pr-closed':
      return onPrClosed(t, event);
    case 'pr-reviewed':
      return onPrReviewed(t, event);
    case 'step-failed':
      return onStepFailed(t, event);
    case 'dead-lettered':
      return onDeadLettered(t, event);
  }
}
