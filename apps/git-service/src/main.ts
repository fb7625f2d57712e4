import 'reflect-metadata';
import { runService } from '@agency/bootstrap';
import { GitServiceConfig } from './git-service.config.js';
import { GitServiceModule } from './git-service.module.js';

// GITHUB_TOKEN is listed already so that, once the GitHub forge reads it, it is never printed.
await runService({ service: 'git-service', schema: GitServiceConfig, secrets: ['GITHUB_TOKEN'], module: (config) => GitServiceModule.forRoot(config) });
