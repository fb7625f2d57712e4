import 'reflect-metadata';
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { plainToInstance, Type } from 'class-transformer';
import {
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateNested,
  validateSync,
  type ValidationError,
} from 'class-validator';
import { parse } from 'yaml';
import { SANDBOX_LIMIT_RANGES } from '@agency/contracts';
import { CONFIG_FILE } from './layout.js';

// The schema is the file format: property names are the YAML keys (snake_case on purpose).

export class LocalForgeConfig {
  /** Folder holding <owner>/<name>.git bare repositories and PR records; relative to the vault. */
  @IsString()
  @MinLength(1)
  root!: string;
}

export class GithubForgeConfig {
  /** REST API base, for GitHub Enterprise (default https://api.github.com). */
  @IsOptional()
  @IsString()
  api_url?: string;

  /** Where repositories are cloned from (default https://github.com). */
  @IsOptional()
  @IsString()
  web_url?: string;
}

export class ForgesConfig {
  @IsOptional()
  @ValidateNested()
  @Type(() => LocalForgeConfig)
  local?: LocalForgeConfig;

  @IsOptional()
  @ValidateNested()
  @Type(() => GithubForgeConfig)
  github?: GithubForgeConfig;
}

export class RepoConfig {
  @IsIn(['local', 'github'])
  forge!: 'local' | 'github';

  /** Clone URL; for the local forge it defaults to <forges.local.root>/<name>.git. */
  @IsOptional()
  @IsString()
  url?: string;

  @IsString()
  base: string = 'main';

  @IsOptional()
  @IsString()
  setup?: string;

  @IsString()
  @MinLength(1)
  test!: string;

  @IsOptional()
  @IsString()
  lint?: string;

  /**
   * A JUnit XML report the test command writes (e.g. `junit.xml` with `vitest --reporter=junit
   * --outputFile=junit.xml`), relative to the repository: the tester reads its counts and test
   * names instead of the output's when it is there after the run.
   */
  @IsOptional()
  @IsString()
  @Matches(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[^\0\\]+$/, { message: 'must be a path relative to the repository, without ".."' })
  test_report?: string;

  /** Sandbox image for this repository (the sandbox issue). */
  @IsOptional()
  @IsString()
  image?: string;

  /**
   * The network of this repository's setup (the agent phase never has one): `registries` (only
   * the package registries below, through the runner's allowlisting proxy), `none`, or the name of
   * a Docker network (the operator's explicit choice, unfiltered). Absent: the runner's SANDBOX_NETWORK.
   */
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_.-]+$/, { message: 'network must be "registries", "none" or a Docker network name' })
  network?: string;

  /**
   * The hosts the setup may reach through the registry proxy: `host`, `host:port` or `*.domain`.
   * Absent: the public registries of the ecosystems its lock files show (e.g. registry.npmjs.org).
   */
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  @Matches(/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:\d{1,5})?$/, { each: true, message: 'registries must be host names, host:port or *.domain' })
  registries?: string[];
}

/** A tier's model alias per role; a role left out uses its agent file's `model` (20_agents/<role>.md). */
export class TierModels {
  @IsOptional()
  @IsString()
  @MinLength(1)
  planner?: string;
  @IsOptional()
  @IsString()
  @MinLength(1)
  coder?: string;
  @IsOptional()
  @IsString()
  @MinLength(1)
  reviewer?: string;
}

/** Container limits of a tier's sandboxes; each one absent keeps the runner's default. */
export class TierSandboxConfig {
  @IsOptional()
  @IsInt()
  @Min(SANDBOX_LIMIT_RANGES.memoryMb.min)
  @Max(SANDBOX_LIMIT_RANGES.memoryMb.max)
  memory_mb?: number;

  @IsOptional()
  @IsNumber()
  @Min(SANDBOX_LIMIT_RANGES.cpus.min)
  @Max(SANDBOX_LIMIT_RANGES.cpus.max)
  cpus?: number;

  @IsOptional()
  @IsInt()
  @Min(SANDBOX_LIMIT_RANGES.pids.min)
  @Max(SANDBOX_LIMIT_RANGES.pids.max)
  pids?: number;
}

export class TierConfig {
  @IsString()
  @MinLength(1)
  name!: string;

  /** The highest complexity score (0-100) this tier takes. */
  @IsNumber()
  @Min(0)
  @Max(100)
  max_score!: number;

  @ValidateNested()
  @Type(() => TierModels)
  models: TierModels = new TierModels();

  @IsInt()
  @Min(0)
  @Max(20)
  review_rounds: number = 2;

  @IsBoolean()
  plan_approval: boolean = false;

  @IsBoolean()
  auto_merge: boolean = false;

  @IsNumber()
  @Min(0)
  budget_usd: number = 5;

  @IsOptional()
  @ValidateNested()
  @Type(() => TierSandboxConfig)
  sandbox?: TierSandboxConfig;
}

export class ApprovalConfig {
  @IsIn(['human', 'auto'])
  merge: 'human' | 'auto' = 'human';

  @IsNumber()
  @Min(0)
  @Max(1)
  auto_merge_min_confidence: number = 0.85;
}

export class ConcurrencyConfig {
  @IsInt()
  @Min(1)
  global: number = 4;

  @IsInt()
  @Min(1)
  per_repo: number = 2;
}

export class DefaultsConfig {
  @IsOptional()
  @IsString()
  repo?: string;
}

/** How the router scores an FR; absent, the documented heuristic alone decides. */
export class RoutingConfig {
  /**
   * A model alias (the gateway resolves it) asked to adjust the heuristic score by at most
   * `max_adjustment` points, with a reason. Absent: no model is asked.
   */
  @IsOptional()
  @IsString()
  @MinLength(1)
  refine_model?: string;

  /** The most the model may move the score, either way (0-50 points). */
  @IsInt()
  @Min(0)
  @Max(50)
  max_adjustment: number = 15;
}

export class AgencyConfig {
  @IsOptional()
  @ValidateNested()
  @Type(() => ForgesConfig)
  forges: ForgesConfig = new ForgesConfig();

  @IsObject()
  repos!: Record<string, RepoConfig>;

  @IsOptional()
  @ValidateNested()
  @Type(() => DefaultsConfig)
  defaults: DefaultsConfig = new DefaultsConfig();

  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => TierConfig)
  tiers!: TierConfig[];

  @ValidateNested()
  @Type(() => ApprovalConfig)
  approval: ApprovalConfig = new ApprovalConfig();

  @ValidateNested()
  @Type(() => ConcurrencyConfig)
  concurrency: ConcurrencyConfig = new ConcurrencyConfig();

  @ValidateNested()
  @Type(() => RoutingConfig)
  routing: RoutingConfig = new RoutingConfig();

  /** Providers, model aliases and prices; the LLM gateway validates this section itself. */
  @IsOptional()
  @IsObject()
  llm?: Record<string, unknown>;
}

export class AgencyConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.join('; ')}`);
    this.name = 'AgencyConfigError';
  }
}

/** class-validator's errors as `path.to.field: message` lines (nested ones with their full path). */
export function flattenValidationErrors(errors: ValidationError[], prefix = '', out: string[] = []): string[] {
  for (const e of errors) {
    const path = prefix ? `${prefix}.${e.property}` : e.property;
    for (const c of Object.values(e.constraints ?? {})) out.push(`${path}: ${c.replace(new RegExp(`^${e.property}\\s`), '')}`);
    flattenValidationErrors(e.children ?? [], path, out);
  }
  return out;
}

/** Reads and validates 40_config/agency.yaml; every problem is named with its path in the file. */
export function parseAgencyConfig(text: string, file = CONFIG_FILE): AgencyConfig {
  let raw: unknown;
  try {
    raw = parse(text, { prettyErrors: true });
  } catch (e) {
    throw new AgencyConfigError(file, [`YAML error: ${(e as Error).message.split('\n')[0]}`]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new AgencyConfigError(file, ['must be a YAML mapping']);
  const config = plainToInstance(AgencyConfig, raw, { exposeDefaultValues: true });
  const problems = flattenValidationErrors(validateSync(config, { forbidUnknownValues: true }), '', []);
  const repos: Record<string, RepoConfig> = {};
  for (const [name, value] of Object.entries(config.repos ?? {})) {
    const repo = plainToInstance(RepoConfig, value ?? {}, { exposeDefaultValues: true });
    problems.push(...flattenValidationErrors(validateSync(repo), `repos.${name}`, []));
    repos[name] = repo;
  }
  config.repos = repos;
  const names = new Set<string>();
  for (const t of config.tiers ?? []) {
    if (names.has(t.name)) problems.push(`tiers: "${t.name}" is defined twice`);
    names.add(t.name);
  }
  if (config.defaults?.repo && !repos[config.defaults.repo]) problems.push(`defaults.repo: "${config.defaults.repo}" is not in repos`);
  for (const [name, repo] of Object.entries(repos)) {
    if (repo.forge === 'local' && !repo.url && !config.forges?.local)
      problems.push(`repos.${name}: a local-forge repository needs forges.local.root or its own url`);
  }
  if (problems.length > 0) throw new AgencyConfigError(file, problems);
  config.tiers.sort((a, b) => a.max_score - b.max_score);
  return config;
}

export function loadAgencyConfig(vaultRoot: string): AgencyConfig {
  const file = join(vaultRoot, CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new AgencyConfigError(file, [`cannot read: ${(e as Error).message}`]);
  }
  return parseAgencyConfig(text, file);
}

/** Absolute root of the local forge, as the vault config names it. */
export function localForgeRoot(config: AgencyConfig, vaultRoot: string): string | undefined {
  const root = config.forges?.local?.root;
  if (!root) return undefined;
  return isAbsolute(root) ? root : resolve(vaultRoot, '40_config', root);
}

/** Where agents clone a repository from. */
export function cloneUrlOf(config: AgencyConfig, vaultRoot: string, name: string): string {
  const repo = config.repos[name];
  if (!repo) throw new Error(`repository "${name}" is not configured in ${CONFIG_FILE}`);
  if (repo.url) return repo.url;
  if (repo.forge === 'github') return `${(config.forges?.github?.web_url ?? 'https://github.com').replace(/\/$/, '')}/${name}.git`;
  const root = localForgeRoot(config, vaultRoot);
  if (!root) throw new Error(`repository "${name}" has no url and there is no local forge`);
  return join(root, `${name}.git`);
}

/** agency.yaml, re-read only when the file changes, so edits apply without a restart. */
export class AgencyConfigCache {
  private cached?: { mtimeMs: number; config: AgencyConfig };

  constructor(readonly vaultRoot: string) {}

  current(): AgencyConfig {
    const file = join(this.vaultRoot, CONFIG_FILE);
    let mtimeMs: number;
    try {
      mtimeMs = statSync(file).mtimeMs;
    } catch (e) {
      throw new AgencyConfigError(file, [`cannot read: ${(e as Error).message}`]);
    }
    if (!this.cached || this.cached.mtimeMs !== mtimeMs) this.cached = { mtimeMs, config: loadAgencyConfig(this.vaultRoot) };
    return this.cached.config;
  }
}
