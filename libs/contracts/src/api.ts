import type { SagaState } from './messages/orchestrator.messages.js';

/**
 * One FR as the orchestrator's HTTP API lists it (GET /sagas): the shape the CLI and the
 * dashboard read. Types only; the HTTP API is not a bus message.
 */
export interface SagaSummary {
  frId: string;
  sagaId: string;
  title: string;
  state: SagaState;
  step: string;
  attempt: number;
  round: number;
  tier?: string;
  prUrl?: string;
  costUsd: number;
  traceId: string;
  failure?: string;
  updatedAt: string;
}
