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
import { overdue, SweeperService } from './sweeper.service.js';

const T = Date.parse('2026-11-24T10:00:00Z');
const rec = (state: SagaState, startedAgoS: number, beatAgoS?: number): SagaRecord =>
  ({
    state, step: 'x', attempt: 1, stepStartedAt: new Date(T - startedAgoS * 1000).toISOString(),
    ...(beatAgoS !== undefined ? { lastHeartbeatAt: new Date(T - beatAgoS * 1000).toISOString() } : {}),
    fr: sampleFr(), repo: sampleRepo(),
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

describe('SweeperService following FR files', () => {
  const inProgress = '10_features/04_in_progress/FR-1-x.md';
  const inReview = '10_features/05_in_review/FR-1-x.md';
  const saga = (state: SagaState, frPath: string): SagaRecord => ({ ...rec(state, 1), sagaId: 'FR-1-r1', frId: 'FR-1', frPath, finished: false });

  function rig(listed: SagaRecord, current: SagaRecord, fileAt: { folder: FrFolder; path: string }) {
    const handle = vi.fn(async () => undefined);
    const syncFr = vi.fn(async () => undefined);
    const sweeper = new SweeperService(
      { all: async () => [listed], get: async () => ({ value: current, revision: 2 }) } as unknown as SagaRepository,
      { handle, syncFr, finish: vi.fn() } as unknown as SagaService,
      { nowMs: () => T } as Clock,
      { SWEEP_INTERVAL_MS: 1000, STEP_QUIET_SECONDS: 180, STEP_DEADLINE_SECONDS: 3600 } as OrchestratorConfig,
      { exists: (p: string) => p === fileAt.path, locate: () => fileAt } as unknown as VaultRepository,
      {} as BusConnection,
      createLogger({ service: 'test', level: 'silent' }),
    );
    return { sweeper, handle, syncFr };
  }

  beforeEach(() => {
    vi.spyOn(Lease.prototype, 'acquire').mockResolvedValue(true);
  });

  afterEach(() => vi.restoreAllMocks());

  it('does not take the saga\'s own move for a person\'s when the listed record is older than the move', async () => {
    // Listed while opening the PR; since then the saga reached awaiting-merge and moved the file, its new path not yet saved.
    const { sweeper, handle, syncFr } = rig(saga('opening-pr', inProgress), saga('awaiting-merge', inProgress), { folder: 'inReview', path: inReview });
    await sweeper.sweep();
    expect(handle).not.toHaveBeenCalled();
    expect(syncFr).not.toHaveBeenCalled();
  });

  it('does not move a live run\'s file back to the folder of an older state', async () => {
    // Listed in awaiting-merge with the file still in progress; by now the saga is fixing, where the file belongs.
    const { sweeper, syncFr } = rig(saga('awaiting-merge', inProgress), saga('fixing', inProgress), { folder: 'inProgress', path: inProgress });
    await sweeper.sweep();
    expect(syncFr).not.toHaveBeenCalled();
  });

  it('cancels a run whose file a person moved, only if the saga has not moved on since', async () => {
    const { sweeper, handle } = rig(saga('reviewing', inProgress), saga('reviewing', inProgress), { folder: 'done', path: '10_features/06_done/FR-1-x.md' });
    await sweeper.sweep();
    expect(handle).toHaveBeenCalledWith(expect.objectContaining({ kind: 'cancel', by: 'vault', reason: 'the FR file was moved to 10_features/06_done/FR-1-x.md by a person', ifUnchanged: { state: 'reviewing', frPath: inProgress } }));
  });
});
