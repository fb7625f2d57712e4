import { userInfo } from 'node:os';
import { DeliverPolicy } from '@nats-io/jetstream';
import { HEADERS, STREAMS, type SagaList } from '@agency/contracts';
import { BusConnection } from '@agency/messaging';
import { AgencyApi, cliBusOptions, type SagaSummary } from '../api.client.js';

const who = () => process.env.AGENCY_USER ?? userInfo().username;

function print(s: SagaSummary): void {
  console.log(`${s.frId}: ${s.state} (${s.step}${s.attempt > 1 ? `, attempt ${s.attempt}` : ''})${s.failure ? `: ${s.failure}` : ''}`);
}

export async function go(api: AgencyApi, frId: string, tier?: string): Promise<number> {
  const r = await api.post<{ sagaId: string; outcome: string }>(api.orchestratorUrl, `/sagas/${encodeURIComponent(frId)}/go`, {
    by: who(),
    ...(tier ? { tier } : {}),
  });
  console.log(`${frId}: ${r.outcome}${r.sagaId ? ` as ${r.sagaId}` : ''}${tier ? ` on tier ${tier}` : ''}`);
  return 0;
}

export async function steer(
  api: AgencyApi,
  action: 'approve' | 'reject' | 'cancel' | 'retry',
  frId: string,
  opts: { comment?: string; reason?: string; gate?: string },
): Promise<number> {
  const s = await api.post<SagaSummary>(api.orchestratorUrl, `/sagas/${encodeURIComponent(frId)}/${action}`, { by: who(), ...opts });
  print(s);
  return 0;
}

export async function dispatch(api: AgencyApi, pause: boolean): Promise<number> {
  const r = await api.post<{ paused: boolean; by: string; at: string }>(api.registryUrl, `/jobs/dispatch/${pause ? 'pause' : 'resume'}`, { by: who() });
  console.log(`dispatching ${r.paused ? 'paused' : 'resumed'} by ${r.by} at ${r.at}`);
  return 0;
}

/**
 * Which events `logs` shows: those of the FR's current run, or, for an FR the intake refused
 * (it has no run), every event of the FR (its refusals), after a line saying why.
 */
async function logScope(api: AgencyApi, frId: string): Promise<{ header: string; value: string }> {
  try {
    const saga = await api.get<{ sagaId: string }>(api.orchestratorUrl, `/sagas/${encodeURIComponent(frId)}`);
    return { header: HEADERS.sagaId, value: saga.sagaId };
  } catch (e) {
    const refused = (await api.get<SagaList>(api.orchestratorUrl, '/sagas')).refused?.find((r) => r.frId === frId);
    if (!refused) throw e;
    console.log(
      `${frId} was ${refused.code === 'DEPENDENCY_UNKNOWN' ? 'held' : 'refused'} at intake (${refused.code}): ${refused.reason}\n  file: ${refused.now}`,
    );
    return { header: HEADERS.frId, value: frId };
  }
}

/**
 * An FR's timeline from the event stream (the audit log): every event of its current run (or its
 * refusals, for an FR the intake refused), then, with --follow, new ones as they happen. Needs
 * NATS_URL (default the local one) and, for a server with users, NATS_USER and NATS_PASSWORD (the
 * quick start's are found on their own).
 */
export async function logs(api: AgencyApi, frId: string, follow: boolean): Promise<number> {
  const scope = await logScope(api, frId);
  const bus = await BusConnection.connect({ ...cliBusOptions(), name: 'agency-cli' });
  try {
    const consumer = await bus.js.consumers.get(STREAMS.events.name, { deliver_policy: DeliverPolicy.All });
    const info = await consumer.info(true);
    let remaining = info.num_pending;
    if (remaining === 0 && !follow) return 0;
    const messages = await consumer.consume();
    for await (const m of messages) {
      remaining -= 1;
      if (m.headers?.get(scope.header) === scope.value) {
        const env = m.json<{ type: string; step: string; attempt: number; occurredAt: string; payload: Record<string, unknown> }>();
        const p = env.payload;
        const detail =
          p.summary ??
          p.reason ??
          p.url ??
          p.message ??
          (p.to ? `${String(p.from)} -> ${String(p.to)}` : Array.isArray(p.problems) ? `${String(p.code)}: ${p.problems.join('; ')}` : '');
        console.log(
          `${env.occurredAt.slice(11, 19)}  ${env.type.padEnd(30)} ${env.step}${env.attempt > 1 ? `#${env.attempt}` : ''}  ${String(detail).slice(0, 140)}`,
        );
      }
      if (!follow && remaining <= 0) break;
    }
    return 0;
  } finally {
    await bus.close();
  }
}
