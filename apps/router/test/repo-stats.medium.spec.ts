import { join } from 'node:path';
import { BUCKETS, Messages, repoStatsKey, STREAMS, type FrScoredEvent, type RepoStatsRecord } from '@agency/contracts';
import { sampleFr } from '@agency/contracts/testing';
import { runService, type RunningService } from '@agency/bootstrap';
import { BusConnection, BusPublisher, Clock, KvStore } from '@agency/messaging';
import { seedVault } from '@agency/stack';
import { expectEventually, readStream, startNatsServer, tempDir, type NatsServerHandle, type TempDir } from '@agency/testing';
import { RepoStatsReader } from '../src/repos/repo-stats.reader.js';
import { RouterConfig } from '../src/router.config.js';
import { RouterModule } from '../src/router.module.js';

/**
 * The agent-runner's side, as the contract defines it (bucket, key, value) and as its
 * RepoStatsStore writes it: apps never import apps, so the test writes through the contract.
 */
async function recordAsRunner(bus: BusConnection, repo: string, stats: RepoStatsRecord): Promise<void> {
  await (await KvStore.open<RepoStatsRecord>(bus, BUCKETS.repos, { history: 1 })).put(repoStatsKey(repo), stats);
}

const exampleVault = join(import.meta.dirname, '..', '..', '..', 'examples', 'vault');

describe('repository stats recorded by the agent-runner, read by the router (real nats-server)', () => {
  let nats: NatsServerHandle;
  let dir: TempDir;
  let runnerBus: BusConnection;
  let routerBus: BusConnection;
  let service: RunningService | undefined;

  beforeAll(async () => {
    nats = await startNatsServer();
    dir = tempDir('router-repo-stats-');
    runnerBus = await BusConnection.connect({ servers: nats.url, name: 'agent-runner-test' });
    routerBus = await BusConnection.connect({ servers: nats.url, name: 'router-test' });
  });

  afterAll(async () => {
    await service?.close();
    await runnerBus?.close();
    await routerBus?.close();
    await nats?.dispose();
    dir?.remove();
  });

  it('reads back what the runner wrote, and nothing for a repository no plan has listed', async () => {
    const reader = new RepoStatsReader(routerBus);
    // The router may come first: its read creates the bucket, the runner's write then uses it.
    expect(await reader.get('example/greeter')).toBeUndefined();

    const stats = { fileCount: 1234, sizeBytes: 56_789, baseSha: 'a'.repeat(40), at: '2026-01-02T03:04:05.000Z' };
    await recordAsRunner(runnerBus, 'example/greeter', stats);

    expect(await reader.get('example/greeter')).toEqual(stats);
    expect(await reader.get('example/other')).toBeUndefined();
    // A later plan at a newer base replaces the record.
    await recordAsRunner(runnerBus, 'example/greeter', { ...stats, fileCount: 1300, baseSha: 'b'.repeat(40) });
    expect(await reader.get('example/greeter')).toMatchObject({ fileCount: 1300, baseSha: 'b'.repeat(40) });
  });

  it('the running router scores repo_size from the recorded stats', async () => {
    const vault = join(dir.path, 'vault');
    seedVault(exampleVault, vault);
    service = await runService(
      { service: 'router', schema: RouterConfig, module: (c) => RouterModule.forRoot(c) },
      { NATS_URL: nats.url, VAULT_PATH: vault, HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'silent' },
    );
    await recordAsRunner(runnerBus, 'example/greeter', { fileCount: 100, sizeBytes: 4096, baseSha: 'c'.repeat(40), at: '2026-01-02T03:04:05.000Z' });

    const publisher = new BusPublisher(runnerBus, new Clock());
    await publisher.publish(Messages.ScoreFr, { frId: 'FR-1', sagaId: 'FR-1-r1', step: 'score', attempt: 1, payload: { fr: sampleFr() } });

    await expectEventually(async () => {
      const scored = await readStream(runnerBus.js, STREAMS.events.name, Messages.FrScored.subject);
      expect(scored).toHaveLength(1);
      const event = JSON.parse(scored[0]!.text) as { payload: FrScoredEvent };
      expect(event.payload.reasons).toContainEqual({ feature: 'repo_size', points: 10, detail: `100 files in the repository at ${'c'.repeat(12)}` });
    });
  });
});
