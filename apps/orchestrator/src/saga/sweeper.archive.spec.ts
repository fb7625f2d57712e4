import type { SagaState } from '@agency/contracts';
import { Lease, type BusConnection, type Clock, type Versioned } from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import { record } from '../../test/support/saga.fixtures.js';
import type { RefusalRepository } from '../intake/refusal.repository.js';
import type { OrchestratorConfig } from '../orchestrator.config.js';
import type { VaultRepository } from '../vault/vault.repository.js';
import type { EffectInterpreter } from './effect-interpreter.service.js';
import type { SagaIndexRepository } from './saga-index.repository.js';
import type { SagaRecord } from './saga.model.js';
import type { SagaRepository } from './saga.repository.js';
import type { SagaService } from './saga.service.js';
import { SweeperService } from './sweeper.service.js';

const HOUR = 3600_000;
const T = Date.parse('2026-11-24T10:00:00Z');
const ago = (hours: number) => new Date(T - hours * HOUR).toISOString();

/**
 * The saga store and its finished-day index in memory, with a sweeper over them whose clock the
 * test moves: archival's decision (what leaves the store) without NATS.
 */
function rig(retentionHours: number) {
  const sagas = new Map<string, Versioned<SagaRecord>>();
  const days = new Map<string, string[]>();
  // Every day ever filed: a dropped day's key stays listed (its purge marker), as in the bucket.
  const everFiled = new Set<string>();
  let archivedThrough: string | undefined;
  let now = T;
  const reads = { records: 0, days: 0 };
  const erase = vi.fn(async (stored: Versioned<SagaRecord>) => sagas.delete(stored.value.sagaId));
  const expire = vi.fn(async () => 0);
  const sweeper = new SweeperService(
    {
      get: async (id: string) => {
        reads.records += 1;
        return sagas.get(id);
      },
      erase,
    } as unknown as SagaRepository,
    {
      built: async () => true,
      active: async () => [],
      finishedOn: async (day: string) => {
        reads.days += 1;
        return days.get(day) ?? [];
      },
      dropDay: async (day: string) => void days.delete(day),
      archivedThrough: async () => archivedThrough,
      markArchivedThrough: async (day: string) => void (archivedThrough = day),
      finishedDays: async () => [...everFiled].sort(),
    } as unknown as SagaIndexRepository,
    {} as SagaService,
    {} as EffectInterpreter,
    { nowMs: () => now, now: () => new Date(now) } as Clock,
    { SWEEP_INTERVAL_MS: 1000, SAGA_RETENTION_HOURS: retentionHours } as OrchestratorConfig,
    {} as VaultRepository,
    { expire } as unknown as RefusalRepository,
    {} as BusConnection,
    createLogger({ service: 'test', level: 'silent' }),
  );
  /** A run as stored, filed in the finished index under each of `filedOn` (UTC days). */
  const store = (sagaId: string, state: SagaState, updatedAt: string, filedOn: string[], patch: Partial<SagaRecord> = {}) => {
    sagas.set(sagaId, { value: record(state, 'merge-r1', { sagaId, frId: sagaId.replace(/-r\d+$/, ''), updatedAt, ...patch }), revision: 1 });
    for (const day of filedOn) {
      days.set(day, [...(days.get(day) ?? []), sagaId]);
      everFiled.add(day);
    }
  };
  const erased = () => erase.mock.calls.map(([stored]) => stored.value.sagaId);
  const later = (ms: number) => (now += ms);
  return { sweeper, sagas, days, reads, expire, store, erased, later };
}

describe('SweeperService archiving finished runs (SAGA_RETENTION_HOURS)', () => {
  beforeEach(() => void vi.spyOn(Lease.prototype, 'acquire').mockResolvedValue(true));
  afterEach(() => vi.restoreAllMocks());

  it('erases runs finished before the retention, and never an active run or one finished inside it', async () => {
    const w = rig(24);
    w.store('FR-1-r1', 'done', ago(72), ['2026-11-21']);
    w.store('FR-2-r1', 'failed', ago(50), ['2026-11-22']);
    // Finished on the 21st, retried since: active again, or finished again two hours ago.
    w.store('FR-3-r1', 'coding', ago(1), ['2026-11-21']);
    w.store('FR-4-r1', 'done', ago(2), ['2026-11-21', '2026-11-24']);
    // Finished, but with effects still to carry out.
    w.store('FR-5-r1', 'cancelled', ago(72), ['2026-11-21'], {
      outbox: [{ id: 'FR-5-r1:t9:state-changed', seq: 9, kind: 'state-changed', from: 'coding', to: 'cancelled' }],
    });
    w.store('FR-6-r1', 'done', ago(20), ['2026-11-23']);

    await w.sweeper.sweep();

    expect(w.erased().sort()).toEqual(['FR-1-r1', 'FR-2-r1']);
    expect([...w.sagas.keys()].sort()).toEqual(['FR-3-r1', 'FR-4-r1', 'FR-5-r1', 'FR-6-r1']);
    // The days wholly past the retention leave the index; the day inside it stays for a later pass.
    expect([...w.days.keys()].sort()).toEqual(['2026-11-23', '2026-11-24']);
    expect(w.expire).toHaveBeenCalledWith(ago(24));
  });

  it('looks again only every ten minutes, and a second pass the same day reads and erases nothing', async () => {
    const w = rig(24);
    w.store('FR-1-r1', 'done', ago(72), ['2026-11-21']);
    await w.sweeper.sweep();
    expect(w.erased()).toEqual(['FR-1-r1']);
    const reads = { ...w.reads };

    w.later(60_000);
    await w.sweeper.sweep();
    w.later(10 * 60_000);
    await w.sweeper.sweep();
    expect(w.expire).toHaveBeenCalledTimes(2);
    expect(w.reads).toEqual(reads);
    expect(w.erased()).toEqual(['FR-1-r1']);
  });

  it("archives a run past the retention once its whole day is, with the day's later runs", async () => {
    const w = rig(24);
    // Both finished on the 23rd: 30 h ago (past the 24 h retention) and 20 h ago (inside it).
    w.store('FR-1-r1', 'done', ago(30), ['2026-11-23']);
    w.store('FR-2-r1', 'blocked', ago(20), ['2026-11-23']);
    await w.sweeper.sweep();
    expect(w.erased()).toEqual([]);

    w.later(24 * HOUR);
    await w.sweeper.sweep();
    expect(w.erased()).toEqual(['FR-1-r1', 'FR-2-r1']);
    expect(w.days.size).toBe(0);
  });

  it('catches up on every day past the retention after the sweeper was down for weeks', async () => {
    const w = rig(24);
    w.store('FR-1-r1', 'done', ago(20 * 24), ['2026-11-04']);
    w.store('FR-2-r1', 'done', ago(3 * 24), ['2026-11-21']);
    await w.sweeper.sweep();
    expect(w.erased().sort()).toEqual(['FR-1-r1', 'FR-2-r1']);

    // Down for a fortnight: the runs finished in the meantime are archived when it is back.
    w.store('FR-3-r1', 'done', ago(-24), ['2026-11-25']);
    w.store('FR-4-r1', 'failed', ago(-3 * 24), ['2026-11-27']);
    w.later(14 * 24 * HOUR);
    await w.sweeper.sweep();
    expect(w.erased().sort()).toEqual(['FR-1-r1', 'FR-2-r1', 'FR-3-r1', 'FR-4-r1']);
    expect(w.days.size).toBe(0);
  });
});
