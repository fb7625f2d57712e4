import 'reflect-metadata';
import { runService } from '@agency/bootstrap';
import { routerService } from './router.app.js';

await runService(routerService);
