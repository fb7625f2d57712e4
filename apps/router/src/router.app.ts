import type { ServiceSpec } from '@agency/bootstrap';
import { ROUTER_SECRETS, RouterConfig } from './router.config.js';
import { RouterModule } from './router.module.js';

/** The router as runService starts it: main.ts in production, the medium tests in-process. */
export const routerService: ServiceSpec<RouterConfig> = {
  service: 'router',
  schema: RouterConfig,
  secrets: ROUTER_SECRETS,
  module: (config) => RouterModule.forRoot(config),
};
