import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUCKETS, Messages, STREAMS, type Priority } from '@agency/contracts';
import { runService, type RunningService } from '@agency/bootstrap';
import { BusConnection, BusPublisher, Clock, KvStore } from '@agency/messaging';
import { seedVault } from '@agency/stack';
import { expectEventually, readStream, startNatsServer, tempDir, type NatsServerHandle, type TempDir } from '@agency/testing';
import { RegistryConfig } from '../src/registry.config.js';
import { RegistryModule } from '../src/registry.module.js';

const exampleVault = join(import.meta.dirname, '..', '..', '..', 'examples', 'vault');

describe('registry against a real nats-server: slots, priority, pause', () => {
  let nats: NatsServerHandle;
  let dir: TempDir;
  let service: RunningService;
  let bus: BusConnection;
  let publisher: BusPublisher;

  const enqueue = (sagaId: string, priority: Priority, repo = 'example/greeter') =>
    publisher.publish(Messages.EnqueueJob, { frId: 'FR-1', sagaId, step: 'queue', attempt: 1, payload: { repo, priority, tier: 'small' } });
  const complete = (sagaId: string) =>
    publisher.publish(Messages.CompleteJob, { frId: 'FR-1', sagaId, jobId: `job-${sagaId}`, step: 'complete', attempt: 1, payload: { outcome: 'succeeded' } });
  const dispatched = async () =>
    (await readStream(bus.js, STREAMS.events.name, Messages.JobDispatched.subject)).map((m) => JSON.parse(m.text).sagaId as string);
  const finished = async (sagaId: string) =>
    (await readStream(bus.js, STREAMS.events.name, Messages.JobFinished.subject)).some((m) => JSON.parse(m.text).sagaId === sagaId);
  /**
   * Waits until two dispatch passes have started after now (each renews the dispatcher's lease
   * first, and passes run one at a time): the first of them has run whole, with what is stored now.
   */
  const twoPasses = async () => {
    const lease = await KvStore.open<{ expiresAt: number }>(bus, BUCKETS.leases, { history: 1 });
    const revision = async () => (await lease.get('registry.dispatcher'))?.revision ?? 0;
    const from = await revision();
    await expectEventually(async () => expect(await revision()).toBeGreaterThanOrEqual(from + 2));
  };
  const http = (path: string, method = 'GET') =>
    fetch(`${service.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{"by":"test"}' : undefined });

  beforeAll(async () => {
    nats = await startNatsServer();
    dir = tempDir('registry-');
    const vault = join(dir.path, 'vault');
    seedVault(exampleVault, vault);
    const file = join(vault, '40_config', 'agency.yaml');
    // One slot in all: dispatch order is what the test watches.
    writeFileSync(file, readFileSync(file, 'utf8').replace(/global: 4\n {2}per_repo: 2/, 'global: 1\n  per_repo: 1'));
    bus = await BusConnection.connect({ servers: nats.url, name: 'test' });
    publisher = new BusPublisher(bus, new Clock());
    service = await runService(
      { service: 'registry', schema: RegistryConfig, module: (c) => RegistryModule.forRoot(c) },
      { NATS_URL: nats.url, VAULT_PATH: vault, HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'silent', DISPATCH_INTERVAL_MS: '200' },
    );
  });

  afterAll(async () => {
    await service?.close();
    await bus?.close();
    await nats?.dispose();
    dir?.remove();
  });

  it('runs one job per slot and dispatches a high-priority job queued behind low ones next', async () => {
    await enqueue('s-low-1', 'low');
    await expectEventually(async () => expect(await dispatched()).toEqual(['s-low-1']));
    for (let i = 2; i <= 6; i += 1) await enqueue(`s-low-${i}`, 'low');
    await enqueue('s-high', 'high');
    await expectEventually(async () =>
      expect((await readStream(bus.js, STREAMS.events.name, Messages.JobQueued.subject)).map((m) => JSON.parse(m.text).sagaId)).toContain('s-high'),
    );
    await twoPasses();
    expect(await dispatched()).toEqual(['s-low-1']);
    await complete('s-low-1');
    await expectEventually(async () => expect(await dispatched()).toEqual(['s-low-1', 's-high']));
    await complete('s-high');
    await expectEventually(async () => expect(await dispatched()).toEqual(['s-low-1', 's-high', 's-low-2']));
  });

  it('enqueueing the same saga again finds the same job', async () => {
    await enqueue('s-low-3', 'low');
    const jobs = (await (await http('/jobs')).json()) as { jobs: Array<{ jobId: string }> };
    expect(jobs.jobs.filter((j) => j.jobId === 'job-s-low-3')).toHaveLength(1);
  });

  it('pauses and resumes dispatching', async () => {
    expect(await (await http('/jobs/dispatch/pause', 'POST')).json()).toMatchObject({ paused: true, by: 'test' });
    await complete('s-low-2');
    await expectEventually(async () => expect(await finished('s-low-2')).toBe(true));
    await twoPasses();
    expect(await dispatched()).toHaveLength(3);
    expect(await (await http('/jobs/dispatch')).json()).toMatchObject({ paused: true });
    await http('/jobs/dispatch/resume', 'POST');
    await expectEventually(async () => expect(await dispatched()).toEqual(['s-low-1', 's-high', 's-low-2', 's-low-3']));
  });

  it('answers 404 for an unknown job', async () => {
    const res = await http('/jobs/job-nope');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { message: string }).message).toBe('job job-nope does not exist');
  });

  it('dispatches from the index of live jobs: a finished job leaves it for the day it finished', async () => {
    const store = await KvStore.open<{ jobs: Record<string, string> | string[] }>(bus, BUCKETS.jobs, { history: 10 });
    const live = async () => Object.keys(((await store.get('index.live'))?.value.jobs ?? {}) as Record<string, string>);
    await expectEventually(async () => expect(await live()).not.toContain('job-s-low-2'));
    expect(await live()).toEqual(expect.arrayContaining(['job-s-low-3', 'job-s-low-4', 'job-s-low-5', 'job-s-low-6']));
    const today = new Date().toISOString().slice(0, 10);
    expect((await store.get(`index.finished.${today}`))?.value.jobs).toEqual(expect.arrayContaining(['job-s-low-1', 'job-s-high', 'job-s-low-2']));
    // A lap of a run names its job: the registry keeps it apart from the run's first job.
    await publisher.publish(Messages.EnqueueJob, {
      frId: 'FR-1',
      sagaId: 's-low-1',
      jobId: 'job-s-low-1-l2',
      step: 'queue',
      attempt: 2,
      payload: { repo: 'example/greeter', priority: 'critical', tier: 'small' },
    });
    await expectEventually(async () => expect(await live()).toContain('job-s-low-1-l2'));
    expect((await (await http('/jobs/job-s-low-1-l2')).json()) as { sagaId: string; state: string }).toMatchObject({ sagaId: 's-low-1', state: 'queued' });
  });

  it("announces a lap's dispatch although the run's first job was dispatched moments ago (its own message id, not deduplicated)", async () => {
    // The critical lap is next once the running job finishes; its saga's first job was dispatched within the dedupe window.
    await complete('s-low-3');
    const dispatchedJobs = async () =>
      (await readStream(bus.js, STREAMS.events.name, Messages.JobDispatched.subject)).map((m) => JSON.parse(m.text).payload.jobId as string);
    await expectEventually(async () => expect(await dispatchedJobs()).toContain('job-s-low-1-l2'));
    expect((await (await http('/jobs/job-s-low-1-l2')).json()) as { state: string }).toMatchObject({ state: 'running' });
    expect((await dispatchedJobs()).filter((j) => j.startsWith('job-s-low-1'))).toEqual(['job-s-low-1', 'job-s-low-1-l2']);
  });
});
