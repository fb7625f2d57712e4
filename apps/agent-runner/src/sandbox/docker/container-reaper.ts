import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { LABELS } from './container-spec.js';
import { DockerEngine } from './docker.engine.js';

/**
 * Removes sandbox containers a runner left behind. Containers carry the owner's name
 * (SANDBOX_OWNER, stable across restarts), so at start-up every container of that owner is an
 * orphan of an earlier life (a crash, a kill -9); at shutdown, every one is ours to remove.
 * Containers of other owners (other runners on the same engine) are never touched.
 */
@Injectable()
export class ContainerReaper {
  constructor(
    private readonly engine: DockerEngine,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  /** Removes every sandbox container of `owner` (except `keep`); returns the names removed. */
  async reap(owner: string, keep: ReadonlySet<string> = new Set()): Promise<string[]> {
    const found = await this.engine.list([`${LABELS.sandbox}=true`, `${LABELS.owner}=${owner}`]);
    const orphans = found.filter((c) => c.labels[LABELS.owner] === owner && !keep.has(c.id));
    await Promise.all(
      orphans.map(async (c) => {
        try {
          await this.engine.remove(c.id);
        } catch (err) {
          this.logger.warn({ err, container: c.names[0] ?? c.id }, 'sandbox container not removed');
        }
      }),
    );
    if (orphans.length > 0) this.logger.info({ owner, removed: orphans.map((c) => c.names[0] ?? c.id) }, 'removed orphaned sandbox containers');
    // Then the setup networks (the registry proxy's): none is in use once the containers are gone.
    if (keep.size === 0) {
      for (const n of await this.engine.listNetworks([`${LABELS.sandbox}=true`, `${LABELS.owner}=${owner}`]).catch(() => [])) {
        await this.engine.removeNetwork(n.id).catch((err: unknown) => this.logger.warn({ err, network: n.name }, 'sandbox network not removed'));
      }
    }
    return orphans.map((c) => c.names[0] ?? c.id);
  }
}
