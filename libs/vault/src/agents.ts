import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_ROLES, type AgentRole, SEVERITIES, type Severity } from '@agency/contracts';
import { FrontMatterError, splitFrontMatter } from './front-matter.js';
import { AGENTS_DIR, REVIEW_RULES_DIR } from './layout.js';

export interface AgentDefinition {
  role: AgentRole;
  /** Model alias the gateway resolves; a tier may override it. */
  model: string;
  maxSteps: number;
  maxTokens: number;
  temperature: number;
  tools: string[];
  systemPrompt: string;
  /** Turns that show the model an unusable JSON answer and the problem before the step fails (retryably). */
  repairTurns: number;
  /** Once the coder's conversation is longer than this (characters), old tool results are condensed. */
  condenseAfterChars: number;
  /** The same action repeated this many times with no change in between stops the coder (after one warning). */
  repeatLimit: number;
}

/** Defaults of the agent settings a vault file may leave out. */
export const AGENT_DEFAULTS = { maxSteps: 20, maxTokens: 4096, repairTurns: 2, condenseAfterChars: 60_000, repeatLimit: 3 } as const;

export class VaultFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.join('; ')}`);
    this.name = 'VaultFileError';
  }
}

function readDoc(file: string): { fm: Record<string, unknown>; body: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new VaultFileError(file, [`cannot read: ${(e as Error).message}`]);
  }
  try {
    const { doc, body } = splitFrontMatter(text);
    return { fm: (doc.toJS() as Record<string, unknown> | null) ?? {}, body: body.trim() };
  } catch (e) {
    if (e instanceof FrontMatterError) throw new VaultFileError(file, e.problems);
    throw e;
  }
}

function positiveInt(fm: Record<string, unknown>, key: string, fallback: number, problems: string[]): number {
  const v = fm[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) problems.push(`${key}: must be a positive integer`);
  return Number(v);
}

/** Reads 20_agents/<role>.md: front matter for model and limits, body for the system prompt. */
export function loadAgent(vaultRoot: string, role: AgentRole): AgentDefinition {
  const file = join(vaultRoot, AGENTS_DIR, `${role}.md`);
  const { fm, body } = readDoc(file);
  const problems: string[] = [];
  if (fm.role !== undefined && fm.role !== role) problems.push(`role: "${String(fm.role)}" does not match the file name (${role})`);
  if (typeof fm.model !== 'string' || !fm.model) problems.push('model: required (a model alias, e.g. coder)');
  const maxSteps = positiveInt(fm, 'max_steps', AGENT_DEFAULTS.maxSteps, problems);
  const maxTokens = positiveInt(fm, 'max_tokens', AGENT_DEFAULTS.maxTokens, problems);
  const repairTurns = fm.repair_turns ?? AGENT_DEFAULTS.repairTurns;
  if (typeof repairTurns !== 'number' || !Number.isInteger(repairTurns) || repairTurns < 0 || repairTurns > 5)
    problems.push('repair_turns: must be an integer from 0 to 5');
  const condenseAfterChars = positiveInt(fm, 'condense_after_chars', AGENT_DEFAULTS.condenseAfterChars, problems);
  const repeatLimit = positiveInt(fm, 'repeat_limit', AGENT_DEFAULTS.repeatLimit, problems);
  if (repeatLimit < 2) problems.push('repeat_limit: must be at least 2 (the first repeat gets a warning)');
  const temperature = fm.temperature ?? 0;
  if (typeof temperature !== 'number' || temperature < 0 || temperature > 2) problems.push('temperature: must be a number from 0 to 2');
  const tools = fm.tools ?? [];
  if (!Array.isArray(tools) || tools.some((t) => typeof t !== 'string')) problems.push('tools: must be a list of tool names');
  if (!body) problems.push('the body (the system prompt) is empty');
  if (problems.length > 0) throw new VaultFileError(file, problems);
  return {
    role,
    model: fm.model as string,
    maxSteps,
    maxTokens,
    temperature: temperature as number,
    tools: tools as string[],
    systemPrompt: body,
    repairTurns: repairTurns as number,
    condenseAfterChars,
    repeatLimit,
  };
}

export function loadAgents(vaultRoot: string): Record<AgentRole, AgentDefinition> {
  return Object.fromEntries(AGENT_ROLES.map((r) => [r, loadAgent(vaultRoot, r)])) as Record<AgentRole, AgentDefinition>;
}

export interface ReviewRule {
  id: string;
  title: string;
  severity: Severity;
  /** Glob-like path patterns the rule is about; empty means every file. */
  appliesTo: string[];
  text: string;
}

/** Reads 30_review_rules/*.md, the rules the reviewer applies, in file-name order. */
export function loadReviewRules(vaultRoot: string): ReviewRule[] {
  const dir = join(vaultRoot, REVIEW_RULES_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => {
      const file = join(dir, f);
      const { fm, body } = readDoc(file);
      const severity = (fm.severity ?? 'major') as Severity;
      const problems: string[] = [];
      if (!SEVERITIES.includes(severity)) problems.push(`severity: must be one of ${SEVERITIES.join(', ')}`);
      const appliesTo = fm.applies_to ?? [];
      if (!Array.isArray(appliesTo)) problems.push('applies_to: must be a list of path patterns');
      if (!body) problems.push('the body (the rule) is empty');
      if (problems.length > 0) throw new VaultFileError(file, problems);
      return {
        id: String(fm.id ?? f.replace(/\.md$/, '')),
        title: String(fm.title ?? f.replace(/\.md$/, '')),
        severity,
        appliesTo: (appliesTo as unknown[]).map(String),
        text: body,
      };
    });
}
