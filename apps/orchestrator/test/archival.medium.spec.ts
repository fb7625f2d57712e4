import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUCKETS, type SagaState } from '@agency/contracts';
import { Clock, KvStore } from '@agency/messaging';
import { expectEventually } from '@agency/testing';
import { dayOf } from '@agency/messaging';
import { SagaIndexRepository } from '../src/saga/saga-index.repository.js';
import { SweeperService } from '../src/saga/sweeper.service.js';
import { OrchestratorHarness } from './support/orchestrator-harness.js';
import { record } from './support/saga.fixtures.js';

const HOUR = 3600_000;

/**
 * Archival of finished runs (issue 13 item 11): the sweeper erases runs finished before
 * SAGA_RETENTION_HOURS from the saga store, with their finished-day index entries, and leaves
 * active runs and recently finished ones. Real orchestrator, nats-server and saga bucket; the
 * sweeper's own timer is held off (SWEEP_INTERVAL_MS of an hour) so the test decides when it passes.
 */
describe('archival of finished runs (real nats-server)', () => {
  let h: OrchestratorHarness;
  let index: SagaIndexRepository;
  let sweeper: SweeperService;
  const now = Date.now();
  const ago = (hours: number) => new Date(now - hours * HOUR);

  beforeAll(async () => {
    h = await OrchestratorHarness.start({
      SAGA_RETENTION_HOURS: '24',
      SWEEP_INTERVAL_MS: '3600000',
      STEP_QUIET_SECONDS: '7200',
      STEP_DEADLINE_SECONDS: '7200',
    });
    index = h.service.app.get(SagaIndexRepository);
    sweeper = h.service.app.get(SweeperService);
    // The example vault's FR-001 is taken by the intake: a live run of the agency's own.
    await expectEventually(async () => expect((await h.sagas.currentRun('FR-001'))?.value.sagaId).toBe('FR-001-r1'));
  });

  afterAll(async () => {
    vi.restoreAllMocks();
    await h?.stop();
  });

  /**
   * Stores a run as the saga leaves it, filed in the finished index under `filedAt` (or active,
   * with its FR file in progress, where the sweeper expects it).
   */
  async function seed(frId: string, state: SagaState, updatedAt: Date, filedAt?: Date): Promise<string> {
    const sagaId = `${frId}-r1`;
    const frPath = `10_features/04_in_progress/${frId}-archival.md`;
    if (!filedAt || state === 'coding') writeFileSync(join(h.vault, frPath), `---\nid: ${frId}\n---\n`);
    const at = updatedAt.toISOString();
    // An active run's step started just now: the sweeper has no reason to re-drive it.
    const stepStartedAt = filedAt ? at : new Date().toISOString();
    expect(await h.sagas.create(record(state, 'merge-r1', { frId, sagaId, frPath, createdAt: at, updatedAt: at, stepStartedAt }))).toBe(true);
    expect(await h.sagas.claimRun({ frId, sagaId, run: 1 })).toBe(true);
    if (filedAt) await index.finish(sagaId, filedAt);
    else await index.activate(sagaId, updatedAt);
    return sagaId;
  }

  /** The bucket's keys of the seeded runs and of the finished index, with their revisions. */
  async function snapshot(): Promise<Record<string, number>> {
    const bucket = await KvStore.open(h.bus, BUCKETS.sagas, { history: 10 });
    const values = await bucket.values('>');
    return Object.fromEntries(values.filter((v) => /FR-9|index\.(finished|archived)/.test(v.key)).map((v) => [v.key, v.revision]));
  }

  it('erases runs finished before the retention with their index entries, keeps the rest, and a second pass changes nothing', async () => {
    const oldDone = await seed('FR-901', 'done', ago(72), ago(72));
    const longAgo = await seed('FR-902', 'failed', ago(10 * 24), ago(10 * 24));
    // Finished three days ago and retried since: filed on its old day, active again.
    const retried = await seed('FR-903', 'coding', ago(1), ago(72));
    await index.activate(retried, ago(1));
    const recent = await seed('FR-904', 'done', ago(2), ago(2));
    const active = await seed('FR-905', 'testing', ago(100));
    const seeded = await snapshot();

    await sweeper.sweep();

    expect(await h.sagas.get(oldDone)).toBeUndefined();
    expect(await h.sagas.get(longAgo)).toBeUndefined();
    // The FR's pointer stays, marked, so its next run is numbered after the archived one.
    expect((await h.sagas.currentRun('FR-901'))?.value).toMatchObject({ sagaId: oldDone, archived: true });
    expect(await index.finishedOn(dayOf(ago(72)))).toEqual([]);
    expect(await index.finishedOn(dayOf(ago(10 * 24)))).toEqual([]);
    // Active and recent runs are untouched: the same revision as seeded.
    const after = await snapshot();
    for (const kept of [retried, recent, active]) expect(after[`saga.${kept}`]).toBe(seeded[`saga.${kept}`]);
    for (const kept of [retried, recent, active, 'FR-001-r1']) expect((await h.sagas.get(kept))?.value.sagaId).toBe(kept);
    expect(await index.finishedOn(dayOf(ago(2)))).toContain(recent);
    expect(await index.active()).toEqual(expect.arrayContaining([retried, active, 'FR-001-r1']));

    // Eleven minutes on (archival looks every ten): the same store, nothing written.
    const before = await snapshot();
    const clock = h.service.app.get(Clock);
    vi.spyOn(clock, 'nowMs').mockImplementation(() => Date.now() + 11 * 60_000);
    vi.spyOn(clock, 'now').mockImplementation(() => new Date(Date.now() + 11 * 60_000));
    await sweeper.sweep();
    expect(await snapshot()).toEqual(before);
    expect(before).toHaveProperty('index.archived-through');
  });

  it('keeps a run changed since archival read it', async () => {
    const sagaId = await seed('FR-906', 'done', ago(72), ago(72));
    const read = (await h.sagas.get(sagaId))!;
    // A person retries it between the read and the erase.
    await h.sagas.update({ ...read.value, state: 'coding' }, read.revision);
    expect(await h.sagas.erase(read)).toBe(false);
    expect((await h.sagas.get(sagaId))?.value.state).toBe('coding');
    expect(await h.sagas.erase((await h.sagas.get(sagaId))!)).toBe(true);
    expect(await h.sagas.get(sagaId)).toBeUndefined();
  });
});
