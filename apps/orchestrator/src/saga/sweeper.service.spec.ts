import { sampleFr, sampleRepo } from '@agency/contracts/testing';
import type { SagaState } from '@agency/contracts';
import { Lease, type BusConnection, type Clock } from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import type { FrFolder } from '@agency/vault';
import type { OrchestratorConfig } from '../orchestrator.config.js';
import type { VaultRepository } from '../vault/vault.repository.js';
import type { SagaRecord } from './saga.model.js';
import type { SagaRepository } from './saga.repository.js';
import type { SagaService } from './saga.service.js';
import type { EffectInterpreter } from './effect-interpreter.service.js';
import type { SagaIndexRepository } from './saga-index.repository.js';
import type { RefusalRepository } from '../intake/refusal.repository.js';
import { overdue, SweeperService } from './sweeper.service.js';
import { Metrics } from '@agency/bootstrap';

const T = Date.parse('2026-11-24T10:00:00Z');
const rec = (state: SagaState, startedAgoS: number, beatAgoS?: number): SagaRecord =>
  ({
    state,
    step: 'x',
    attempt: 1,
    stepStartedAt: new Date(T - startedAgoS * 1000).toISOString(),
    ...(beatAgoS !== undefined ? { lastHeartbeatAt: new Date(T - beatAgoS * 1000).toISOString() } : {}),
    fr: sampleFr(),
    repo: sampleRepo(),
  }) as SagaRecord;

describe('overdue', () => {
  it('flags a quiet step and a step past its deadline', () => {
    expect(overdue(rec('planning', 200), T, 180_000, 3600_000)).toBe('was quiet for 200 s');
    expect(overdue(rec('testing', 4000, 5), T, 180_000, 3600_000)).toBe('ran past its 3600 s deadline');
  });

  it('keeps a step alive while it heartbeats', () => {
    expect(overdue(rec('coding', 900, 10), T, 180_000, 3600_000)).toBeUndefined();
  });

  it('never times out waiting on a person, the queue or a finished saga', () => {
    for (const state of ['queued', 'awaiting-plan-approval', 'awaiting-merge', 'done', 'failed'] as SagaState[]) {
      expect(overdue(rec(state, 99_999), T, 1, 1)).toBeUndefined();
    }
  });
});

describe('SweeperService tending the active sagas', () => {
  const inProgress = '10_features/04_in_progress/FR-1-x.md';
  const inReview = '10_features/05_in_review/FR-1-x.md';
  const saga = (state: SagaState, frPath: string): SagaRecord => ({ ...rec(state, 1), sagaId: 'FR-1-r1', frId: 'FR-1', frPath, outbox: [] });

  function rig(current: SagaRecord | undefined, fileAt: { folder: FrFolder; path: string }) {
    const handle = vi.fn(async () => ({}));
    const syncFr = vi.fn(async () => ({}));
    const forget = vi.fn(async () => undefined);
    const sweeper = new SweeperService(
      { get: async () => (current ? { value: current, revision: 2 } : undefined) } as unknown as SagaRepository,
      // Archival is up to date (sweeper.archive.spec.ts tests it).
      { built: async () => true, active: async () => ['FR-1-r1'], forget, archivedThrough: async () => '2026-11-24' } as unknown as SagaIndexRepository,
      { handle, flush: async (v: unknown) => v } as unknown as SagaService,
      { syncFr } as unknown as EffectInterpreter,
      { nowMs: () => T, now: () => new Date(T) } as Clock,
      { SWEEP_INTERVAL_MS: 1000, STEP_QUIET_SECONDS: 180, STEP_DEADLINE_SECONDS: 3600, SAGA_RETENTION_HOURS: 1 } as OrchestratorConfig,
      { exists: (p: string) => p === fileAt.path, locate: () => fileAt } as unknown as VaultRepository,
      { expire: async () => 0 } as unknown as RefusalRepository,
      {} as BusConnection,
      createLogger({ service: 'test', level: 'silent' }),
      metrics,
    );
    return { sweeper, handle, syncFr, forget };
  }

  let metrics: Metrics;

  beforeEach(() => {
    metrics = new Metrics('orchestrator');
    vi.spyOn(Lease.prototype, 'acquire').mockResolvedValue(true);
  });

  it('counts the FRs in the agency by state at every sweep, from the active index (issue 16: FRs by state)', async () => {
    const { sweeper } = rig(saga('awaiting-merge', inReview), { folder: 'inReview', path: inReview });
    await sweeper.sweep();
    const gauge = await metrics.registry.getSingleMetric('agency_frs_active')!.get();
    const byState = Object.fromEntries(gauge.values.map((v) => [v.labels.state, v.value]));
    expect(byState['awaiting-merge']).toBe(1);
    expect(byState['coding']).toBe(0);
    expect(byState).not.toHaveProperty('done');
  });

  afterEach(() => vi.restoreAllMocks());

  it("does not take the saga's own move for a person's when its new path is not recorded yet", async () => {
    // The saga reached awaiting-merge and moved the file; its new path is not saved yet.
    const { sweeper, handle, syncFr } = rig(saga('awaiting-merge', inProgress), { folder: 'inReview', path: inReview });
    await sweeper.sweep();
    expect(handle).not.toHaveBeenCalled();
    expect(syncFr).not.toHaveBeenCalled();
  });

  it("leaves a live run's file where its state wants it, and moves one a crash left behind", async () => {
    const live = rig(saga('fixing', inProgress), { folder: 'inProgress', path: inProgress });
    await live.sweeper.sweep();
    expect(live.syncFr).not.toHaveBeenCalled();
    const behind = rig(saga('awaiting-merge', inProgress), { folder: 'inProgress', path: inProgress });
    await behind.sweeper.sweep();
    expect(behind.syncFr).toHaveBeenCalledWith(expect.objectContaining({ state: 'awaiting-merge', frPath: inProgress }));
  });

  it('cancels a run whose file a person moved, only if the saga has not moved on since', async () => {
    const { sweeper, handle } = rig(saga('reviewing', inProgress), { folder: 'done', path: '10_features/06_done/FR-1-x.md' });
    await sweeper.sweep();
    expect(handle).toHaveBeenCalledWith(
      expect.objectContaining({
        kind: 'cancel',
        by: 'vault',
        reason: 'the FR file was moved to 10_features/06_done/FR-1-x.md by a person',
        ifUnchanged: { state: 'reviewing', frPath: inProgress },
      }),
    );
  });

  it('drops a saga the store no longer has from the active index', async () => {
    const { sweeper, forget, handle } = rig(undefined, { folder: 'inProgress', path: inProgress });
    await sweeper.sweep();
    expect(forget).toHaveBeenCalledWith('FR-1-r1');
    expect(handle).not.toHaveBeenCalled();
  });
});
