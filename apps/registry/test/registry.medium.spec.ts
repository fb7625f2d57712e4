import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Messages, STREAMS, type Priority } from '@agency/contracts';
import { runService, type RunningService } from '@agency/bootstrap';
import { BusConnection, BusPublisher, Clock } from '@agency/messaging';
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
  const http = (path: string, method = 'GET') => fetch(`${service.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{"by":"test"}' : undefined });

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
    await new Promise((r) => setTimeout(r, 600));
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
    await new Promise((r) => setTimeout(r, 800));
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
});
