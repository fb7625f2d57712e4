import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { STREAMS, type Envelope, type SagaList } from '@agency/contracts';
import { runService, type RunningService } from '@agency/bootstrap';
import { BusConnection, BusPublisher, Clock } from '@agency/messaging';
import { seedVault } from '@agency/stack';
import { readStream, startNatsServer, tempDir, type NatsServerHandle, type TempDir } from '@agency/testing';
import { VaultWatcherService } from '../../src/intake/vault-watcher.service.js';
import { OrchestratorConfig } from '../../src/orchestrator.config.js';
import { OrchestratorModule } from '../../src/orchestrator.module.js';
import { SagaRepository } from '../../src/saga/saga.repository.js';
import { SweeperService } from '../../src/saga/sweeper.service.js';

const exampleVault = join(import.meta.dirname, '..', '..', '..', '..', 'examples', 'vault');

/**
 * The orchestrator booted as main.ts boots it (sweeper and vault watcher started), on a nats-server
 * of its own and a copy of the example vault, with a client connection to publish events and read
 * the streams back.
 */
export class OrchestratorHarness {
  private constructor(
    readonly nats: NatsServerHandle,
    readonly dir: TempDir,
    readonly vault: string,
    readonly service: RunningService,
    readonly bus: BusConnection,
    readonly publisher: BusPublisher,
  ) {}

  static async start(env: Record<string, string> = {}, prepare: (vault: string) => void = () => undefined): Promise<OrchestratorHarness> {
    const nats = await startNatsServer();
    const dir = tempDir('orchestrator-');
    const vault = join(dir.path, 'vault');
    seedVault(exampleVault, vault);
    prepare(vault);
    const bus = await BusConnection.connect({ servers: nats.url, name: 'test' });
    const service = await runService(
      {
        service: 'orchestrator',
        schema: OrchestratorConfig,
        module: (c) => OrchestratorModule.forRoot(c),
        onReady: async (app) => {
          app.get(SweeperService).start();
          await app.get(VaultWatcherService).start();
        },
      },
      {
        NATS_URL: nats.url,
        VAULT_PATH: vault,
        HTTP_PORT: '0',
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        SCAN_INTERVAL_MS: '300',
        SWEEP_INTERVAL_MS: '300',
        ...env,
      },
    );
    return new OrchestratorHarness(nats, dir, vault, service, bus, new BusPublisher(bus, new Clock()));
  }

  async stop(): Promise<void> {
    await this.service?.close();
    await this.bus?.close();
    await this.nats?.dispose();
    this.dir?.remove();
  }

  get sagas(): SagaRepository {
    return this.service.app.get(SagaRepository);
  }

  planned(name: string, text: string | Uint8Array): void {
    writeFileSync(join(this.vault, '10_features', '03_planned', name), text);
  }

  inFolder(folder: string): string[] {
    return readdirSync(join(this.vault, '10_features', folder)).filter((f) => f.endsWith('.md'));
  }

  file(folder: string, name: string): Buffer {
    return readFileSync(join(this.vault, '10_features', folder, name));
  }

  /** Commands on the bus, optionally of one subject, as envelopes. */
  async commands<P = Record<string, unknown>>(subject?: string): Promise<Envelope<P>[]> {
    return (await readStream(this.bus.js, STREAMS.commands.name))
      .filter((m) => !subject || m.subject === subject)
      .map((m) => JSON.parse(m.text) as Envelope<P>);
  }

  async events<P = Record<string, unknown>>(subject?: string): Promise<Envelope<P>[]> {
    return (await readStream(this.bus.js, STREAMS.events.name)).filter((m) => !subject || m.subject === subject).map((m) => JSON.parse(m.text) as Envelope<P>);
  }

  async list(): Promise<SagaList> {
    return (await (await fetch(`${this.service.url}/sagas`)).json()) as SagaList;
  }

  http(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
    return fetch(`${this.service.url}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  }
}
