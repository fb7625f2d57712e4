import 'reflect-metadata';
import { runService } from '@agency/bootstrap';
import { VaultWatcherService } from './intake/vault-watcher.service.js';
import { OrchestratorConfig } from './orchestrator.config.js';
import { OrchestratorModule } from './orchestrator.module.js';
import { SweeperService } from './saga/sweeper.service.js';

await runService({
  service: 'orchestrator',
  schema: OrchestratorConfig,
  module: (config) => OrchestratorModule.forRoot(config),
  // Start taking FRs only once the events consumer runs, so no result is missed.
  onReady: async (app) => {
    app.get(SweeperService).start();
    await app.get(VaultWatcherService).start();
  },
});
