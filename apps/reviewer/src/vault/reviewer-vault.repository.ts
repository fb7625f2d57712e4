import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { parse } from 'yaml';
import { CONFIG_FILE, loadAgent, loadReviewRules, type AgentDefinition, type ReviewRule } from '@agency/vault';
import { ReviewerConfig } from '../reviewer.config.js';

/** The reviewer's own part of agency.yaml (`review:`), which libs/vault leaves alone. */
export interface ReviewSettings {
  /** Extra globs no change may touch, besides CI workflows and lock files. */
  forbiddenPaths: string[];
  /** Where the settings came from, for the report. */
  source: string;
}

export class ReviewSettingsError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.join('; ')}`);
    this.name = 'ReviewSettingsError';
  }
}

const KNOWN_KEYS = ['forbidden_paths'];

/**
 * Reads `review:` from the parsed agency.yaml:
 *   review:
 *     forbidden_paths: ["infra/**", "*.pem"]
 * Unknown keys are errors, so a typo cannot silently switch a check off.
 */
export function parseReviewSection(doc: unknown, file: string): ReviewSettings {
  const section = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>).review : undefined;
  if (section === undefined || section === null) return { forbiddenPaths: [], source: `${file} (no review section)` };
  if (typeof section !== 'object' || Array.isArray(section)) throw new ReviewSettingsError(file, ['review: must be a mapping']);
  const problems: string[] = [];
  const s = section as Record<string, unknown>;
  for (const key of Object.keys(s)) if (!KNOWN_KEYS.includes(key)) problems.push(`review.${key}: unknown key (known: ${KNOWN_KEYS.join(', ')})`);
  const paths = s.forbidden_paths ?? [];
  if (!Array.isArray(paths)) problems.push('review.forbidden_paths: must be a list of glob patterns');
  else
    paths.forEach((p, i) => {
      if (typeof p !== 'string' || p.trim() === '') problems.push(`review.forbidden_paths[${i}]: must be a non-empty glob string`);
    });
  if (problems.length > 0) throw new ReviewSettingsError(file, problems);
  return { forbiddenPaths: (paths as string[]).map((p) => p.trim()), source: `${file} review section` };
}

/** The vault as the reviewer needs it, read on every review so edits apply without a restart. */
@Injectable()
export class ReviewerVaultRepository {
  constructor(private readonly config: ReviewerConfig) {}

  agent(): AgentDefinition {
    return loadAgent(this.config.VAULT_PATH, 'reviewer');
  }

  rules(): ReviewRule[] {
    return loadReviewRules(this.config.VAULT_PATH);
  }

  settings(): ReviewSettings {
    const file = join(this.config.VAULT_PATH, CONFIG_FILE);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { forbiddenPaths: [], source: `${file} (missing)` };
      throw new ReviewSettingsError(file, [`cannot read: ${(e as Error).message}`]);
    }
    let doc: unknown;
    try {
      doc = parse(text);
    } catch (e) {
      throw new ReviewSettingsError(file, [`YAML error: ${(e as Error).message.split('\n')[0]}`]);
    }
    return parseReviewSection(doc, file);
  }
}
