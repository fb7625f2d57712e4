import 'reflect-metadata';
import { runService } from '@agency/bootstrap';
import { LLM_GATEWAY_SERVICE } from './llm-gateway.service.js';

await runService(LLM_GATEWAY_SERVICE);
