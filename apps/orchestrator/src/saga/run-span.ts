import type { SagaState } from '@agency/contracts';
import { contextFromTraceparent, SpanStatusCode, tracer } from '@agency/telemetry';
import type { SagaRecord } from './saga.model.js';

/**
 * The span of an FR run's whole life, recorded when the run ends (done, failed, cancelled,
 * blocked): `FR <id> run <n>`, from the moment the agency took the FR to now, under the FR's root
 * span in the FR's one trace. The root span itself is ended at once when the run starts (a span
 * cannot outlive a process, and a run can last days and restarts), so Jaeger's timeline of the
 * trace spans the FR's life through this one, with the outcome and the cost.
 */
export function recordRunSpan(
  record: Pick<SagaRecord, 'frId' | 'sagaId' | 'run' | 'traceparent' | 'createdAt'>,
  outcome: SagaState,
  costUsd: number,
  now: Date,
): void {
  const span = tracer().startSpan(
    `FR ${record.frId} run ${record.run}`,
    {
      startTime: new Date(record.createdAt),
      attributes: {
        'agency.fr_id': record.frId,
        'agency.saga_id': record.sagaId,
        'agency.run': record.run,
        'agency.outcome': outcome,
        'agency.cost_usd': costUsd,
      },
    },
    contextFromTraceparent(record.traceparent),
  );
  if (outcome !== 'done') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
  span.end(now);
}
