import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { DeliverPolicy } from '@nats-io/jetstream';
import { HEADERS, STREAMS, type SagaList } from '@agency/contracts';
import { BusConnection } from '@agency/messaging';
import { startNats } from '@agency/stack';
import { AgencyApi, cliBusOptions, runningStack, type SagaSummary } from '../api.client.js';
import { defaultRunDir } from '../paths.js';
import { eventLine, HeartbeatRepeats, type LoggedEvent } from './event-line.js';

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
 * quick start's are found on their own). With no stack running on the run directory and no
 * NATS_URL, the run directory's own store is read instead (`offlineLogs`).
 */
export async function logs(api: () => AgencyApi, frId: string, follow: boolean): Promise<number> {
  // Before any service URL is looked up: with AGENCY_RUN_DIR and no stack, that lookup refuses.
  if (!process.env.NATS_URL && !runningStack()) return offlineLogs(frId, follow);
  const scope = await logScope(api(), frId);
  const bus = await BusConnection.connect({ ...cliBusOptions(), name: 'agency-cli' });
  try {
    await printEvents(bus, scope, follow);
    return 0;
  } finally {
    await bus.close();
  }
}

/**
 * `agency logs` after the stack stopped (`npm start -- --once` has exited): the run directory's
 * JetStream store is opened by a nats-server of the CLI's own (loopback, a free port, no other
 * client) for as long as it reads, and every run of the FR is shown, each under a line naming it,
 * since without the orchestrator there is no "current run" to pick. --follow is refused: a
 * stopped stack makes no more events.
 */
export async function offlineLogs(frId: string, follow: boolean, runDir = defaultRunDir()): Promise<number> {
  const store = join(runDir, 'nats');
  if (!existsSync(join(store, 'jetstream')))
    throw new Error(`no agency is running on ${runDir}, and it holds no event store (${store}): start one with npm start, or set NATS_URL`);
  if (follow)
    throw new Error(
      `no agency is running on ${runDir}: nothing new can happen, so --follow has nothing to wait for (without it, the recorded events are shown)`,
    );
  const nats = await startNats(store);
  // The CLI's own server never outlives it: a pipe closed early (`| head`: EPIPE) or Ctrl-C left it
  // running on the run's store (relay trial defu).
  const stop = () => void nats.child.kill('SIGTERM');
  process.once('exit', stop);
  const closed = (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' ? process.exit(0) : undefined);
  process.stdout.on('error', closed);
  const interrupted = () => process.exit(130);
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const bus = await BusConnection.connect({ servers: nats.url, name: 'agency-cli-offline' });
    try {
      console.log(`(no agency is running on ${runDir}: every run of ${frId}, from its event store)`);
      const shown = await printEvents(bus, { header: HEADERS.frId, value: frId }, false, true);
      if (shown === 0) console.log(`no events of ${frId} are recorded`);
      return 0;
    } finally {
      await bus.close();
    }
  } finally {
    process.off('exit', stop);
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    process.stdout.off('error', closed);
    await nats.stop();
  }
}

/**
 * Prints the stream's events whose header matches, oldest first, but a heartbeat that repeats its
 * step's last one; with `byRun`, a line before each run's first. Returns how many it printed.
 */
async function printEvents(bus: BusConnection, scope: { header: string; value: string }, follow: boolean, byRun = false): Promise<number> {
  const consumer = await bus.js.consumers.get(STREAMS.events.name, { deliver_policy: DeliverPolicy.All });
  const info = await consumer.info(true);
  let remaining = info.num_pending;
  let shown = 0;
  let run: string | undefined;
  const heartbeats = new HeartbeatRepeats();
  if (remaining === 0 && !follow) return 0;
  const messages = await consumer.consume();
  for await (const m of messages) {
    remaining -= 1;
    const env = m.headers?.get(scope.header) === scope.value ? m.json<LoggedEvent & { sagaId: string }>() : undefined;
    // A heartbeat that says again what the step's last one said is left out (no `continue`: the end check below must run).
    if (env && !heartbeats.repeats(env)) {
      if (byRun && env.sagaId !== run) console.log(`== run ${(run = env.sagaId)}`);
      console.log(eventLine(env));
      shown += 1;
    }
    if (!follow && remaining <= 0) break;
  }
  return shown;
}
