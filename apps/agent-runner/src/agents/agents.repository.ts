import { Injectable } from '@nestjs/common';
import type { AgentRole } from '@agency/contracts';
import { loadAgent, type AgentDefinition } from '@agency/vault';
import { AgentRunnerConfig } from '../agent-runner.config.js';

/** The vault's agent definitions (20_agents/<role>.md), read on every use so edits apply at once. */
@Injectable()
export class AgentsRepository {
  constructor(private readonly config: AgentRunnerConfig) {}

  get(role: AgentRole): AgentDefinition {
    return loadAgent(this.config.VAULT_PATH, role);
  }
}
