import { Module, type DynamicModule } from '@nestjs/common';
import { JobsController } from './handlers/jobs.controller.js';
import { JobsHandler } from './handlers/jobs.handler.js';
import { JobRepository } from './jobs/job.repository.js';
import { JobsService } from './jobs/jobs.service.js';
import { LimitsRepository } from './jobs/limits.repository.js';
import type { RegistryConfig } from './registry.config.js';

@Module({})
export class RegistryModule {
  static forRoot(_config: RegistryConfig): DynamicModule {
    return { module: RegistryModule, controllers: [JobsHandler, JobsController], providers: [JobsService, JobRepository, LimitsRepository] };
  }
}
