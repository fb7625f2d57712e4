import 'reflect-metadata';
import { runService } from '@agency/bootstrap';
import { reviewerService } from './reviewer.app.js';

await runService(reviewerService);
