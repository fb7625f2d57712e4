import { Injectable } from '@nestjs/common';
import { AgencyConfigCache } from '@agency/vault';
import { AgentRunnerConfig } from '../agent-runner.config.js';

/** The sandbox image of a repository: `repos.<name>.image` in the vault's agency.yaml, else SANDBOX_IMAGE. */
@Injectable()
export class SandboxImages {
  private readonly vault: AgencyConfigCache;
  readonly defaultImage: string;

  constructor(config: AgentRunnerConfig) {
    this.vault = new AgencyConfigCache(config.VAULT_PATH);
    this.defaultImage = config.SANDBOX_IMAGE;
  }

  imageFor(repo?: string): string {
    if (!repo) return this.defaultImage;
    return this.vault.current().repos[repo]?.image ?? this.defaultImage;
  }

  /** Every image the vault names, the default first: worth keeping warm. */
  allImages(): string[] {
    let named: string[] = [];
    try {
      named = Object.values(this.vault.current().repos).flatMap((r) => (r.image ? [r.image] : []));
    } catch {
      // A vault without a readable agency.yaml warms only the default.
    }
    return [...new Set([this.defaultImage, ...named])];
  }
}
