import { expectEventually } from '@agency/testing';
import { SagaIndexRepository } from '../src/saga/saga-index.repository.js';
import { OrchestratorHarness } from './support/orchestrator-harness.js';
import { record } from './support/saga.fixtures.js';

/**
 * People's listing costs the same whatever the history (issue 13 item 11): GET /sagas shows every
 * active run and only the newest finished ones (SAGA_LIST_FINISHED), counting the rest; any run
 * is still read by its FR. Real orchestrator, nats-server and saga store.
 */
describe("people's listing of runs is bounded (real nats-server)", () => {
  let h: OrchestratorHarness;

  beforeAll(async () => {
    h = await OrchestratorHarness.start({ SAGA_LIST_FINISHED: '2' });
    await expectEventually(async () => expect((await h.sagas.currentRun('FR-001'))?.value.sagaId).toBe('FR-001-r1'));
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('lists the active run and the two newest of five finished, and reads an older one by its FR', async () => {
    const index = h.service.app.get(SagaIndexRepository);
    const now = new Date();
    const yesterday = new Date(now.getTime() - 24 * 3600_000);
    // Two finished yesterday, three today (in this order): the newest two are FR-904 and FR-903.
    for (const [n, at] of [
      [900, yesterday],
      [901, yesterday],
      [902, now],
      [903, now],
      [904, now],
    ] as const) {
      const frId = `FR-${n}`;
      const sagaId = `${frId}-r1`;
      expect(await h.sagas.create(record('done', 'merge-r1', { frId, sagaId, createdAt: at.toISOString(), updatedAt: at.toISOString() }))).toBe(true);
      expect(await h.sagas.claimRun({ frId, sagaId, run: 1 })).toBe(true);
      await index.finish(sagaId, at);
    }
    const listed = await h.list();
    expect(listed.sagas.map((s) => s.frId).sort()).toEqual(['FR-001', 'FR-903', 'FR-904']);
    expect(listed.finishedNotListed).toBe(3);
    const older = await h.http('GET', '/sagas/FR-900');
    expect(older.status).toBe(200);
    expect((await older.json()) as { sagaId: string; state: string }).toMatchObject({ sagaId: 'FR-900-r1', state: 'done' });
  });
});
