import 'reflect-metadata';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validateSync } from 'class-validator';
import { parse } from 'yaml';
import { flattenValidationErrors } from '@agency/vault';
import { SuiteManifest, TaskSpec } from './suite.schema.js';

export const SUITE_FILE = 'suite.yaml';
export const TASK_FILE = 'task.yaml';

/** A task as the harness runs it: its spec, with every file it names found and read. */
export interface LoadedTask {
  /** The task's folder name: its id in reports. */
  name: string;
  dir: string;
  spec: TaskSpec;
  /** The FR's markdown body (front matter stripped). */
  frBody: string;
  referencePatch: string;
  hiddenDir: string;
  /** The repository source: `npm:ms@2.1.3`, `bundle:<abs path>` or `path:<abs path>`. */
  source: RepoSource;
}

export type RepoSource = { kind: 'npm'; spec: string } | { kind: 'bundle'; file: string; ref?: string } | { kind: 'path'; dir: string; ref?: string };

export interface LoadedSuite {
  dir: string;
  manifest: SuiteManifest;
  tasks: LoadedTask[];
}

/** Every problem of a suite, each named with its file and field, so an author fixes them in one go. */
export class SuiteError extends Error {
  constructor(
    readonly dir: string,
    readonly problems: string[],
  ) {
    super(`suite ${dir} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SuiteError';
  }
}

/** Reads a YAML file into a validated class; problems are prefixed with the file's name. */
function readYaml<T extends object>(file: string, cls: ClassConstructor<T>, label: string, problems: string[]): T | undefined {
  if (!existsSync(file)) {
    problems.push(`${label}: missing`);
    return undefined;
  }
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    problems.push(`${label}: YAML error: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${label}: must be a YAML mapping`);
    return undefined;
  }
  const value = plainToInstance(cls, raw, { exposeDefaultValues: true });
  const found = flattenValidationErrors(validateSync(value, { forbidUnknownValues: true, whitelist: true, forbidNonWhitelisted: true }));
  problems.push(...found.map((p) => `${label}: ${p.replace(/: property (\S+) should not exist$/, ': unknown field')}`));
  return found.length === 0 ? value : undefined;
}

function stripFrontMatter(text: string): string {
  const m = text.match(/^---\r?\n[\s\S]*?\r?\n---\r?\n?/);
  return (m ? text.slice(m[0].length) : text).trim();
}

function filesUnder(dir: string): number {
  let n = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) n += entry.isDirectory() ? filesUnder(join(dir, entry.name)) : 1;
  return n;
}

function sourceOf(spec: TaskSpec, dir: string, label: string, problems: string[]): RepoSource | undefined {
  const given = (['npm', 'bundle', 'path'] as const).filter((k) => spec.repo[k] !== undefined);
  if (given.length !== 1) {
    problems.push(`${label}: repo: give exactly one of npm, bundle and path (found ${given.length === 0 ? 'none' : given.join(', ')})`);
    return undefined;
  }
  if (spec.repo.npm) {
    if (spec.repo.ref) problems.push(`${label}: repo.ref: an npm package's base is its version; ref is for bundle and path`);
    return { kind: 'npm', spec: spec.repo.npm };
  }
  if (spec.repo.bundle) {
    const file = join(dir, spec.repo.bundle);
    if (!existsSync(file)) problems.push(`${label}: repo.bundle: ${spec.repo.bundle} does not exist in the task folder`);
    return { kind: 'bundle', file, ref: spec.repo.ref };
  }
  const path = isAbsolute(spec.repo.path!) ? spec.repo.path! : resolve(dir, spec.repo.path!);
  if (!existsSync(path) || !statSync(path).isDirectory()) problems.push(`${label}: repo.path: ${path} is not a folder`);
  return { kind: 'path', dir: path, ref: spec.repo.ref };
}

function loadTask(suiteDir: string, name: string, problems: string[]): LoadedTask | undefined {
  const dir = join(suiteDir, name);
  const label = `${name}/${TASK_FILE}`;
  const spec = readYaml(join(dir, TASK_FILE), TaskSpec, label, problems);
  if (!spec) return undefined;
  const before = problems.length;
  const source = sourceOf(spec, dir, label, problems);
  const read = (file: string, field: string): string => {
    const path = join(dir, file);
    if (!existsSync(path)) {
      problems.push(`${label}: ${field}: ${file} does not exist in the task folder`);
      return '';
    }
    return readFileSync(path, 'utf8');
  };
  const frBody = stripFrontMatter(read(spec.fr, 'fr'));
  if (existsSync(join(dir, spec.fr)) && frBody.length === 0) problems.push(`${name}/${spec.fr}: the FR is empty`);
  const referencePatch = read(spec.reference, 'reference');
  if (referencePatch && !/^(---|diff --git) /m.test(referencePatch))
    problems.push(`${name}/${spec.reference}: not a unified diff (no "--- a/..." or "diff --git" line)`);
  const hiddenDir = join(dir, spec.hidden_tests.files);
  if (!existsSync(hiddenDir) || !statSync(hiddenDir).isDirectory())
    problems.push(`${label}: hidden_tests.files: ${spec.hidden_tests.files}/ is not a folder in the task folder`);
  else if (filesUnder(hiddenDir) === 0) problems.push(`${label}: hidden_tests.files: ${spec.hidden_tests.files}/ holds no file`);
  if (problems.length > before || !source) return undefined;
  return { name, dir, spec, frBody, referencePatch, hiddenDir, source };
}

/**
 * Loads and checks a suite: suite.yaml, then every task folder (task.yaml, the FR, the reference
 * patch, the hidden tests, the repository source). All problems are reported at once.
 */
export function loadSuite(suiteDir: string): LoadedSuite {
  const dir = resolve(suiteDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new SuiteError(dir, [`${dir} is not a folder`]);
  const problems: string[] = [];
  const manifest = readYaml(join(dir, SUITE_FILE), SuiteManifest, SUITE_FILE, problems);
  if (!manifest) throw new SuiteError(dir, problems);
  const names =
    manifest.tasks ??
    readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, TASK_FILE)))
      .map((e) => e.name)
      .sort();
  if (names.length === 0) problems.push(`${SUITE_FILE}: the suite has no task (no folder with a ${TASK_FILE})`);
  const seen = new Set<string>();
  const tasks: LoadedTask[] = [];
  for (const name of names) {
    if (seen.has(name)) {
      problems.push(`${SUITE_FILE}: tasks: "${name}" is listed twice`);
      continue;
    }
    seen.add(name);
    const task = loadTask(dir, name, problems);
    if (task) tasks.push(task);
  }
  if (problems.length > 0) throw new SuiteError(dir, problems);
  return { dir, manifest, tasks };
}
