import 'reflect-metadata';
import { runService } from '@agency/bootstrap';
import { RouterConfig } from './router.config.js';
import { RouterModule } from './router.module.js';

await runService({ service: 'router', schema: RouterConfig, module: (config) => RouterModule.forRoot(config) });
