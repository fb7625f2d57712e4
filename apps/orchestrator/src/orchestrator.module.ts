import { Module, type DynamicModule } from '@nestjs/common';
import { SagaEventsHandler } from './handlers/saga-events.handler.js';
import { SagasController } from './http/sagas.controller.js';
import { IntakeService } from './intake/intake.service.js';
import { RefusalRepository } from './intake/refusal.repository.js';
import { RefusalService } from './intake/refusal.service.js';
import { RunStarter } from './intake/run-starter.service.js';
import { VaultWatcherService } from './intake/vault-watcher.service.js';
import type { OrchestratorConfig } from './orchestrator.config.js';
import { EffectInterpreter } from './saga/effect-interpreter.service.js';
import { SagaIndexRepository } from './saga/saga-index.repository.js';
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
      providers: [
        SagaRepository,
        SagaIndexRepository,
        SagaService,
        EffectInterpreter,
        SweeperService,
        IntakeService,
        RunStarter,
        RefusalService,
        RefusalRepository,
        VaultWatcherService,
        VaultRepository,
      ],
    };
  }
}
