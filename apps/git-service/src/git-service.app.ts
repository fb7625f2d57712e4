import type { ServiceSpec } from '@agency/bootstrap';
import { GIT_SERVICE_SECRETS, GitServiceConfig } from './git-service.config.js';
import { GitServiceModule } from './git-service.module.js';

/** git-service as runService starts it: main.ts in production, the medium tests in-process. */
export const gitServiceSpec: ServiceSpec<GitServiceConfig> = {
  service: 'git-service',
  schema: GitServiceConfig,
  secrets: GIT_SERVICE_SECRETS,
  module: (config) => GitServiceModule.forRoot(config),
  // Webhook signatures are computed over the exact bytes GitHub sent.
  http: { rawBody: true },
};
