import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Messages, STREAMS } from '@agency/contracts';
import { expectEventually, readStream } from '@agency/testing';
import { SagaRepository } from '../src/saga/saga.repository.js';
import { OrchestratorHarness } from './support/orchestrator-harness.js';

describe('orchestrator intake and saga against a real nats-server and vault', () => {
  let h: OrchestratorHarness;
  let vault: string;

  const planned = (name: string, text: string) => h.planned(name, text);
  const inFolder = (folder: string) => h.inFolder(folder);

  beforeAll(async () => {
    h = await OrchestratorHarness.start({ STEP_RETRY_BACKOFF_MS: '1500' });
    vault = h.vault;
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('takes a planned FR once: saga in KV, FR moved and annotated, score command on the bus', async () => {
    const commands = await expectEventually(async () => {
      const msgs = (await readStream(h.bus.js, STREAMS.commands.name)).filter((m) => m.subject === Messages.ScoreFr.subject);
      expect(msgs).toHaveLength(1);
      return msgs;
    });
    const env = JSON.parse(commands[0]!.text);
    expect(env).toMatchObject({ type: 'router.score', frId: 'FR-001', sagaId: 'FR-001-r1', step: 'route', attempt: 1 });
    expect(env.payload.fr).toMatchObject({
      id: 'FR-001',
      title: 'Add a farewell function',
      repo: 'example/greeter',
      acceptanceCriteria: ['`farewell("Ada")` returns `"Goodbye, Ada!"`.', '`npm test` passes.'],
    });
    expect(commands[0]!.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

    expect(inFolder('03_planned')).toEqual([]);
    const text = readFileSync(join(vault, '10_features', '04_in_progress', 'FR-001-farewell.md'), 'utf8');
    expect(text).toMatch(/^agency_saga: FR-001-r1$/m);
    expect(text).toMatch(/## Agency log\n\n- \S+ discovered: taken by the agency \(run 1/);

    const saga = await h.service.app.get(SagaRepository).get('FR-001-r1');
    expect(saga?.value).toMatchObject({ state: 'discovered', step: 'route', repo: { name: 'example/greeter', testCommand: 'npm test', forge: 'local' } });
    expect(saga?.value.traceparent).toContain(saga?.value.traceId);
  });

  it('moves a broken FR to blocked with the reason in the file and the log, and keeps taking others', async () => {
    planned('FR-010-broken.md', '---\nid: FR-010\npriority: soon\n---\nbody\n');
    planned('FR-011-ok.md', '---\nid: FR-011\ntitle: Fine one\n---\n## Acceptance criteria\n- works\n');
    await expectEventually(() => {
      expect(inFolder('09_blocked')).toEqual(['FR-010-broken.md']);
      expect(inFolder('04_in_progress')).toContain('FR-011-ok.md');
    });
    const text = readFileSync(join(vault, '10_features', '09_blocked', 'FR-010-broken.md'), 'utf8');
    expect(text).toMatch(/^blocked_reason: .*title: required; priority: "soon" must be one of critical, high, medium, low/m);
    expect(text).toMatch(/^status: blocked$/m);
  });

  it('blocks an FR naming a repository the vault does not configure', async () => {
    planned('FR-012-elsewhere.md', '---\nid: FR-012\ntitle: Elsewhere\nrepo: acme/unknown\n---\n');
    await expectEventually(() => expect(inFolder('09_blocked')).toContain('FR-012-elsewhere.md'));
    expect(readFileSync(join(vault, '10_features', '09_blocked', 'FR-012-elsewhere.md'), 'utf8')).toMatch(
      /blocked_reason: .*repo: .*acme\/unknown.* is not configured in 40_config\/agency.yaml \(known: example\/greeter\)/,
    );
  });

  it('keeps an FR whose dependency is not done in planned', async () => {
    planned('FR-013-later.md', '---\nid: FR-013\ntitle: Later\ndepends_on: [FR-011]\n---\n');
    // A file dropped after it is taken by a scan that looked at FR-013 first (it sorts first): FR-013 had its chance.
    planned('FR-014-after.md', '---\nid: FR-014\ntitle: After\n---\n');
    await expectEventually(async () => expect((await h.sagas.currentOf('FR-014'))?.value.frPath).toBe('10_features/04_in_progress/FR-014-after.md'));
    expect(inFolder('03_planned')).toEqual(['FR-013-later.md']);
    expect(await h.sagas.currentRun('FR-013')).toBeUndefined();
  });

  it('follows scored and queued events, ignores a duplicate, and re-sends the step command', async () => {
    const scored = {
      frId: 'FR-001',
      sagaId: 'FR-001-r1',
      step: 'route',
      attempt: 1,
      payload: {
        score: 20,
        tier: 'small',
        reasons: [],
        strategy: {
          tier: 'small',
          plannerModel: 'planner',
          coderModel: 'coder',
          reviewerModel: 'reviewer',
          reviewRounds: 2,
          planApproval: false,
          autoMerge: false,
          budgetUsd: 2,
        },
      },
    };
    await h.publisher.publish(Messages.FrScored, scored);
    const repo = h.service.app.get(SagaRepository);
    await expectEventually(async () => expect((await repo.get('FR-001-r1'))?.value.state).toBe('routed'));
    await expectEventually(async () =>
      expect(
        (await readStream(h.bus.js, STREAMS.commands.name)).filter((m) => m.subject === Messages.EnqueueJob.subject && m.text.includes('FR-001-r1')),
      ).toHaveLength(1),
    );
    // The same result again (a new message id, as after a producer retry): state unchanged, no second enqueue.
    await h.publisher.publish(Messages.FrScored, scored, { msgId: 'retry-of-scored' });
    // Events of one saga are handled in arrival order: once a heartbeat sent after it is recorded, the duplicate was handled.
    await h.publisher.publish(Messages.AgentHeartbeat, {
      frId: 'FR-001',
      sagaId: 'FR-001-r1',
      step: 'queue',
      attempt: 1,
      payload: { message: 'after the duplicate' },
    });
    await expectEventually(async () => expect((await repo.get('FR-001-r1'))?.value.lastHeartbeatAt).toBeDefined());
    expect((await repo.get('FR-001-r1'))?.value.state).toBe('routed');
    const enqueues = (await readStream(h.bus.js, STREAMS.commands.name)).filter(
      (m) => m.subject === Messages.EnqueueJob.subject && m.text.includes('FR-001-r1'),
    );
    expect(enqueues).toHaveLength(1);
    expect(existsSync(join(vault, '10_features', '04_in_progress', 'FR-001-farewell.md'))).toBe(true);
  });

  it('blocks only the FR a poison event names, with the reason in its file', async () => {
    const poison = {
      id: '00000000-0000-4000-8000-00000000beef',
      type: 'registry.queued',
      version: 1,
      frId: 'FR-001',
      sagaId: 'FR-001-r1',
      step: 'queue',
      attempt: 1,
      occurredAt: new Date().toISOString(),
      payload: { jobId: 42, position: -1 },
    };
    await h.bus.js.publish(Messages.JobQueued.subject, JSON.stringify(poison), { msgID: 'poison-1' });
    const repo = h.service.app.get(SagaRepository);
    await expectEventually(async () => expect((await repo.get('FR-001-r1'))?.value).toMatchObject({ state: 'blocked', failure: { code: 'DEAD_LETTER' } }));
    expect((await repo.get('FR-001-r1'))?.value.failure?.reason).toMatch(
      /agency\.evt\.registry\.queued\.v1 was dead-lettered after 1 delivery\(ies\): invalid registry\.queued message: payload\.jobId: .*payload\.position: /,
    );
    await expectEventually(() => expect(inFolder('09_blocked')).toContain('FR-001-farewell.md'));
    const text = readFileSync(join(vault, '10_features', '09_blocked', 'FR-001-farewell.md'), 'utf8');
    expect(text).toMatch(/^blocked_reason: "?DEAD_LETTER: agency\.evt\.registry\.queued\.v1 was dead-lettered/m);
    expect(text).toMatch(/- \S+ blocked: agency\.evt\.registry\.queued\.v1 was dead-lettered .* \(trace [0-9a-f]{32}\)/);
    // Other FRs are untouched.
    expect((await repo.get('FR-011-r1'))?.value.state).toBe('discovered');
  });

  it('starts a new run when a person moves a running FR back to planned, cancelling the old one', async () => {
    const repo = h.service.app.get(SagaRepository);
    await expectEventually(async () => expect((await repo.get('FR-011-r1'))?.value.state).toBe('discovered'));
    renameSync(join(vault, '10_features', '04_in_progress', 'FR-011-ok.md'), join(vault, '10_features', '03_planned', 'FR-011-ok.md'));
    await expectEventually(async () => {
      expect((await repo.get('FR-011-r1'))?.value).toMatchObject({
        state: 'cancelled',
        failure: { code: 'CANCELLED', reason: 'cancelled by vault: the FR file was moved back to 03_planned' },
      });
      expect((await repo.get('FR-011-r2'))?.value.state).toBe('discovered');
      expect((await repo.currentRun('FR-011'))?.value.sagaId).toBe('FR-011-r2');
    });
    await expectEventually(() => expect(inFolder('04_in_progress')).toContain('FR-011-ok.md'));
  });

  it('cancels the run of an FR whose file a person deleted', async () => {
    const repo = h.service.app.get(SagaRepository);
    rmSync(join(vault, '10_features', '04_in_progress', 'FR-011-ok.md'));
    await expectEventually(async () =>
      expect((await repo.get('FR-011-r2'))?.value).toMatchObject({ state: 'cancelled', failure: { reason: expect.stringMatching(/was deleted$/) } }),
    );
  });

  it('re-drives a step that failed in a retryable way only after its backoff', async () => {
    planned('FR-020-retry.md', '---\nid: FR-020\ntitle: Retry me\n---\n## Acceptance criteria\n- works\n');
    const repo = h.service.app.get(SagaRepository);
    await expectEventually(async () => expect((await repo.get('FR-020-r1'))?.value.state).toBe('discovered'));
    const ids = { frId: 'FR-020', sagaId: 'FR-020-r1', jobId: 'job-FR-020-r1' };
    const strategy = {
      tier: 'small',
      plannerModel: 'planner',
      coderModel: 'coder',
      reviewerModel: 'reviewer',
      reviewRounds: 2,
      planApproval: false,
      autoMerge: false,
      budgetUsd: 2,
    };
    await h.publisher.publish(Messages.FrScored, { ...ids, step: 'route', attempt: 1, payload: { score: 20, tier: 'small', reasons: [], strategy } });
    await expectEventually(async () => expect((await repo.get('FR-020-r1'))?.value.state).toBe('routed'));
    await h.publisher.publish(Messages.JobDispatched, { ...ids, step: 'queue', attempt: 1, payload: { jobId: ids.jobId, waitedMs: 1 } });
    const plans = async () =>
      (await readStream(h.bus.js, STREAMS.commands.name))
        .filter((m) => m.subject === Messages.Plan.subject && m.text.includes('FR-020-r1'))
        .map((m) => JSON.parse(m.text).attempt as number);
    await expectEventually(async () => expect(await plans()).toEqual([1]));

    await h.publisher.publish(Messages.AgentStepFailed, {
      ...ids,
      step: 'plan',
      attempt: 1,
      payload: { code: 'SANDBOX_BUSY', reason: 'engine busy', retryable: true },
    });
    await expectEventually(async () =>
      expect((await repo.get('FR-020-r1'))?.value).toMatchObject({
        state: 'planning',
        attempt: 2,
        outbox: [expect.objectContaining({ kind: 'step', attempt: 2, notBefore: expect.any(String) })],
      }),
    );
    const failedAt = Date.now();
    expect(await plans()).toEqual([1]);
    await expectEventually(async () => expect(await plans()).toEqual([1, 2]), { timeoutMs: 10_000 });
    expect(Date.now() - failedAt).toBeGreaterThanOrEqual(1000);
    await expectEventually(async () => expect((await repo.get('FR-020-r1'))?.value.outbox).toEqual([]));
  });

  it('takes up a claim a crash cut short (the run claimed, its saga never written) instead of claiming a second run', async () => {
    expect(await h.sagas.claimRun({ frId: 'FR-080', sagaId: 'FR-080-r1', run: 1 })).toBe(true);
    planned('FR-080-claimed.md', '---\nid: FR-080\ntitle: Claimed before a crash\n---\n');
    await expectEventually(async () => expect((await h.sagas.get('FR-080-r1'))?.value.frPath).toBe('10_features/04_in_progress/FR-080-claimed.md'));
    expect((await h.sagas.currentRun('FR-080'))?.value).toMatchObject({ sagaId: 'FR-080-r1', run: 1 });
    expect(await h.sagas.get('FR-080-r2')).toBeUndefined();
  });
});
