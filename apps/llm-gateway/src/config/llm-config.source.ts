import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { Injectable } from '@nestjs/common';
import { parse } from 'yaml';
import { Clock } from '@agency/messaging';
import { CONFIG_FILE } from '@agency/vault';
import { LlmGatewayConfig } from '../llm-gateway.config.js';

/** How often the file's modification time is checked: a stat per call would cost more than the rest of the lookup. */
export const CONFIG_RECHECK_MS = 1_000;

/** The file's `llm:` section, unchecked (parseLlmSettings checks it): the same object while the file is unchanged. */
export interface LlmSection {
  llm: unknown;
}

/** The file the gateway reads: LLM_CONFIG_FILE, else the vault's 40_config/agency.yaml. */
export function llmConfigFile(config: Pick<LlmGatewayConfig, 'VAULT_PATH' | 'LLM_CONFIG_FILE'>): string {
  if (config.LLM_CONFIG_FILE) return isAbsolute(config.LLM_CONFIG_FILE) ? config.LLM_CONFIG_FILE : resolve(config.LLM_CONFIG_FILE);
  return join(config.VAULT_PATH!, CONFIG_FILE);
}

/**
 * The `llm:` section of the gateway's configuration file, re-read only when the file changes. Only
 * that section is read: the rest of agency.yaml (repos, tiers...) is the other services' business,
 * so the gateway runs from a file holding nothing but `llm:` and a mistake elsewhere in agency.yaml
 * never stops model calls.
 */
@Injectable()
export class LlmConfigSource {
  readonly file: string;
  /** The folder of the file: relative paths in the llm section resolve from it. */
  readonly configDir: string;
  private last?: { section: LlmSection | Error; checkedAt: number; mtimeMs?: number };

  constructor(
    config: LlmGatewayConfig,
    private readonly clock: Clock,
  ) {
    this.file = llmConfigFile(config);
    this.configDir = dirname(this.file);
  }

  current(): LlmSection {
    const now = this.clock.nowMs();
    if (!this.last || now - this.last.checkedAt >= CONFIG_RECHECK_MS) this.last = this.read(now);
    if (this.last.section instanceof Error) throw this.last.section;
    return this.last.section;
  }

  private read(now: number): NonNullable<LlmConfigSource['last']> {
    try {
      const mtimeMs = statSync(this.file).mtimeMs;
      if (this.last && this.last.mtimeMs === mtimeMs) return { ...this.last, checkedAt: now };
      return { section: this.parse(readFileSync(this.file, 'utf8')), checkedAt: now, mtimeMs };
    } catch (e) {
      return { section: e instanceof Error ? e : new Error(String(e)), checkedAt: now };
    }
  }

  private parse(text: string): LlmSection {
    let raw: unknown;
    try {
      raw = parse(text, { prettyErrors: true });
    } catch (e) {
      throw new Error(`${this.file}: YAML error: ${(e as Error).message.split('\n')[0]}`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${this.file}: must be a YAML mapping with an llm section`);
    return { llm: (raw as Record<string, unknown>).llm };
  }
}
