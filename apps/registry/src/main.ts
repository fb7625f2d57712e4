import 'reflect-metadata';
import { runService } from '@agency/bootstrap';
import { RegistryConfig } from './registry.config.js';
import { RegistryModule } from './registry.module.js';

await runService({ service: 'registry', schema: RegistryConfig, module: (config) => RegistryModule.forRoot(config) });
