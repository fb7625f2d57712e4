import 'reflect-metadata';
import { runService } from '@agency/bootstrap';
import { AGENT_RUNNER_SECRETS, AgentRunnerConfig } from './agent-runner.config.js';
import { AgentRunnerModule } from './agent-runner.module.js';

await runService({ service: 'agent-runner', schema: AgentRunnerConfig, secrets: AGENT_RUNNER_SECRETS, module: (config) => AgentRunnerModule.forRoot(config) });
