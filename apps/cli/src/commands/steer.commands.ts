import { userInfo } from 'node:os';
import { DeliverPolicy } from '@nats-io/jetstream';
import { HEADERS, STREAMS } from '@agency/contracts';
import { BusConnection } from '@agency/messaging';
import { AgencyApi, runningStack, type SagaSummary } from '../api.client.js';

const who = () => process.env.AGENCY_USER ?? userInfo().username;

function print(s: SagaSummary): void {
  console.log(`${s.frId}: ${s.state} (${s.step}${s.attempt > 1 ? `, attempt ${s.attempt}` : ''})${s.failure ? `: ${s.failure}` : ''}`);
}

export async function go(api: AgencyApi, frId: string, tier?: string): Promise<number> {
  const r = await api.post<{ sagaId: string; outcome: string }>(api.orchestratorUrl, `/sagas/${encodeURIComponent(frId)}/go`, { by: who(), ...(tier ? { tier } : {}) });
  console.log(`${frId}: ${r.outcome}${r.sagaId ? ` as ${r.sagaId}` : ''}${tier ? ` on tier ${tier}` : ''}`);
  return 0;
}

export async function steer(api: AgencyApi, action: 'approve' | 'reject' | 'cancel' | 'retry', frId: string, opts: { comment?: string; reason?: string; gate?: string }): Promise<number> {
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
 * An FR's timeline from the event stream (the audit log): every event of its current run, then,
 * with --follow, new ones as they happen. Needs NATS_URL (default the local one).
 */
export async function logs(api: AgencyApi, frId: string, follow: boolean): Promise<number> {
  const saga = await api.get<{ sagaId: string }>(api.orchestratorUrl, `/sagas/${encodeURIComponent(frId)}`);
  const bus = await BusConnection.connect({ servers: process.env.NATS_URL ?? runningStack()?.natsUrl ?? 'nats://127.0.0.1:4222', name: 'agency-cli' });
  try {
    const consumer = await bus.js.consumers.get(STREAMS.events.name, { deliver_policy: DeliverPolicy.All });
    const info = await consumer.info(true);
    let remaining = info.num_pending;
    if (remaining === 0 && !follow) return 0;
    const messages = await consumer.consume();
    for await (const m of messages) {
      remaining -= 1;
      if (m.headers?.get(HEADERS.sagaId) === saga.sagaId) {
        const env = m.json<{ type: string; step: string; attempt: number; occurredAt: string; payload: Record<string, unknown> }>();
        const p = env.payload;
        const detail = p.summary ?? p.reason ?? p.url ?? p.message ?? (p.to ? `${String(p.from)} -> ${String(p.to)}` : '');
        console.log(`${env.occurredAt.slice(11, 19)}  ${env.type.padEnd(30)} ${env.step}${env.attempt > 1 ? `#${env.attempt}` : ''}  ${String(detail).slice(0, 140)}`);
      }
      if (!follow && remaining <= 0) break;
    }
    return 0;
  } finally {
    await bus.close();
  }
}
