import 'reflect-metadata';
import { runService } from '@agency/bootstrap';
import { gitServiceSpec } from './git-service.app.js';

await runService(gitServiceSpec);
