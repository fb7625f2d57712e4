import { join } from 'node:path';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { watch, type FSWatcher } from 'chokidar';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { FR_FOLDERS } from '@agency/vault';
import { OrchestratorConfig } from '../orchestrator.config.js';
import { IntakeService } from './intake.service.js';

/**
 * Notices FR files in 10_features/03_planned: file-system events for speed, and a periodic full
 * scan because some mounts (network, container volumes) deliver no events.
 */
@Injectable()
export class VaultWatcherService implements OnApplicationShutdown {
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private scanning?: Promise<void>;
  private settleTimer?: NodeJS.Timeout;

  constructor(
    private readonly intake: IntakeService,
    private readonly config: OrchestratorConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  async start(): Promise<void> {
    const dir = join(this.config.VAULT_PATH, FR_FOLDERS.planned);
    this.watcher = watch(dir, { ignoreInitial: true, depth: 0, awaitWriteFinish: { stabilityThreshold: 200, pollInterval: 50 } });
    this.watcher.on('add', () => void this.scan());
    this.watcher.on('change', () => void this.scan());
    this.watcher.on('error', (e) => this.logger.warn({ err: e }, 'vault watcher error; periodic scans continue'));
    this.timer = setInterval(() => void this.scan(), this.config.SCAN_INTERVAL_MS);
    await this.scan();
    this.logger.info({ dir }, 'watching the planned folder');
  }

  /** One scan at a time; a request during a scan is served by the next one. A file still settling is looked at again once it has. */
  scan(): Promise<void> {
    this.scanning ??= this.intake
      .scan()
      .then((outcomes) => {
        if (Object.values(outcomes).includes('settling')) this.scanAfterSettling();
      })
      .catch((e: Error) => this.logger.error({ err: e }, 'vault scan failed'))
      .finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private scanAfterSettling(): void {
    if (this.settleTimer) return;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      void this.scan();
    }, this.config.FR_SETTLE_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.settleTimer);
    await this.watcher?.close();
    await this.scanning;
  }
}
