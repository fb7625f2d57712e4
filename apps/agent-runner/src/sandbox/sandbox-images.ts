import { Injectable } from '@nestjs/common';
import { AgencyConfigCache } from '@agency/vault';
import { AgentRunnerConfig } from '../agent-runner.config.js';

/**
 * A repository's sandbox settings from the vault's agency.yaml: its image (`repos.<name>.image`,
 * else SANDBOX_IMAGE), its setup's network (`repos.<name>.network`, else SANDBOX_NETWORK) and the
 * registries the setup may reach through the proxy (`repos.<name>.registries`).
 */
@Injectable()
export class SandboxImages {
  private readonly vault: AgencyConfigCache;
  readonly defaultImage: string;
  readonly defaultNetwork: string;

  constructor(config: AgentRunnerConfig) {
    this.vault = new AgencyConfigCache(config.VAULT_PATH);
    this.defaultImage = config.SANDBOX_IMAGE;
    this.defaultNetwork = config.SANDBOX_NETWORK;
  }

  /** The setup's network: `registries` (the allowlisting proxy), `none`, or a Docker network. */
  setupNetworkFor(repo?: string): string {
    if (!repo) return this.defaultNetwork;
    return this.vault.current().repos[repo]?.network ?? this.defaultNetwork;
  }

  /** The registries the repository names; undefined: the defaults of its ecosystems. */
  registriesFor(repo?: string): string[] | undefined {
    if (!repo) return undefined;
    return this.vault.current().repos[repo]?.registries;
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
