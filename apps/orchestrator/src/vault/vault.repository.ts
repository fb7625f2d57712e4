import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { AgencyConfigCache, FR_FOLDERS, parseFr, updateFr, type AgencyConfig, type FrFolder, type FrUpdate, type ParsedFr } from '@agency/vault';
import { OrchestratorConfig } from '../orchestrator.config.js';

/** The orchestrator's only door to the vault's files. */
@Injectable()
export class VaultRepository {
  private readonly configCache: AgencyConfigCache;

  constructor(private readonly settings: OrchestratorConfig) {
    this.configCache = new AgencyConfigCache(settings.VAULT_PATH);
  }

  get root(): string {
    return this.settings.VAULT_PATH;
  }

  config(): AgencyConfig {
    return this.configCache.current();
  }

  /** Vault-relative paths of the markdown files in a folder. */
  list(folder: FrFolder): string[] {
    const dir = join(this.root, FR_FOLDERS[folder]);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.md') && !f.startsWith('.'))
      .sort()
      .map((f) => `${FR_FOLDERS[folder]}/${f}`);
  }

  /** Where an FR's file is now, by id (file name FR-1-... or FR-1.md), in any FR folder. */
  locate(frId: string): { folder: FrFolder; path: string } | undefined {
    for (const folder of Object.keys(FR_FOLDERS) as FrFolder[]) {
      const path = this.list(folder).find((p) => {
        const name = p.split('/').pop()!;
        return name === `${frId}.md` || name.startsWith(`${frId}-`);
      });
      if (path) return { folder, path };
    }
    return undefined;
  }

  exists(relPath: string): boolean {
    return existsSync(join(this.root, relPath));
  }

  /** Throws FrParseError naming each problem. */
  parse(relPath: string): ParsedFr {
    const defaults = this.config().defaults;
    return parseFr(readFileSync(join(this.root, relPath), 'utf8'), relPath, defaults.repo ? { repo: defaults.repo } : {});
  }

  update(relPath: string, update: FrUpdate, now: Date): string {
    return updateFr(this.root, relPath, update, now);
  }

  /** Whether an FR with this id sits in the done folder (for depends_on of FRs done by hand). */
  isDone(frId: string): boolean {
    return this.list('done').some((p) => {
      try {
        return parseFr(readFileSync(join(this.root, p), 'utf8'), p, { repo: '-' }).id === frId;
      } catch {
        return false;
      }
    });
  }
}
