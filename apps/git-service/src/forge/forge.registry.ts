import { Inject, Injectable } from '@nestjs/common';
import { GitHubForge } from '../github/github-forge.service.js';
import { invalid } from './forge.errors.js';
import type { Forge } from './forge.js';
import { LocalForge } from './local-forge.service.js';
import type { ForgeKind } from './repo-ref.js';

/** Picks the forge a repository lives on (agency.yaml `repos.<name>.forge`). */
@Injectable()
export class ForgeRegistry {
  private readonly forges: ReadonlyMap<ForgeKind, Forge>;

  constructor(@Inject(LocalForge) local: Forge, @Inject(GitHubForge) github: Forge) {
    this.forges = new Map([
      [local.kind, local],
      [github.kind, github],
    ]);
  }

  for(kind: ForgeKind): Forge {
    const forge = this.forges.get(kind);
    if (!forge) throw invalid('FORGE_UNSUPPORTED', `the ${kind} forge is not supported by this git-service (supported: ${[...this.forges.keys()].join(', ')})`);
    return forge;
  }
}
