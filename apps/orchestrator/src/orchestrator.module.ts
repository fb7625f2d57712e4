import { Module, type DynamicModule } from '@nestjs/common';
import { SagaEventsHandler } from './handlers/saga-events.handler.js';
import { SagasController } from './http/sagas.controller.js';
import { IntakeService } from './intake/intake.service.js';
import { VaultWatcherService } from './intake/vault-watcher.service.js';
import type { OrchestratorConfig } from './orchestrator.config.js';
import { SagaRepository } from './saga/saga.repository.js';
import { SagaService } from './saga/saga.service.js';
import { SweeperService } from './saga/sweeper.service.js';
import { VaultRepository } from './vault/vault.repository.js';

@Module({})
export class OrchestratorModule {
  static forRoot(_config: OrchestratorConfig): DynamicModule {
    return {
      module: OrchestratorModule,
      controllers: [SagaEventsHandler, SagasController],
      providers: [SagaRepository, SagaService, SweeperService, IntakeService, VaultWatcherService, VaultRepository],
    };
  }
}
