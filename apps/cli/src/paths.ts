import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: where dist/, examples/ and .agency/ live. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (dir !== '/' && !existsSync(join(dir, 'examples', 'vault'))) dir = dirname(dir);
  if (dir === '/') throw new Error('cannot find the repository root (a folder with examples/vault)');
  return dir;
}

export function defaultRunDir(): string {
  return resolve(process.env.AGENCY_RUN_DIR ?? join(repoRoot(), '.agency', 'run'));
}

/** Where suite runs of `agency eval run` are kept unless --out says otherwise; the dashboard lists them (its EVAL_DIR). */
export function defaultEvalDir(): string {
  return resolve(process.env.EVAL_DIR ?? process.env.AGENCY_EVAL_DIR ?? join(repoRoot(), '.agency', 'eval'));
}
