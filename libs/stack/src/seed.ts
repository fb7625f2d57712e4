import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gitEnv } from '@agency/git';

/** git sees the allowlisted environment of libs/git, never the caller's secrets. */
const GIT_ENV = {
  ...gitEnv(),
  GIT_AUTHOR_NAME: 'Agency',
  GIT_AUTHOR_EMAIL: 'agency@localhost',
  GIT_COMMITTER_NAME: 'Agency',
  GIT_COMMITTER_EMAIL: 'agency@localhost',
};

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'core.hooksPath=/dev/null', '-c', 'init.defaultBranch=main', ...args], { cwd, env: GIT_ENV, stdio: 'ignore' });
}

/** Copies the bundled example vault into place, unless a vault is already there. */
export function seedVault(source: string, target: string): boolean {
  if (existsSync(join(target, '40_config', 'agency.yaml'))) return false;
  mkdirSync(target, { recursive: true });
  cpSync(source, target, { recursive: true });
  return true;
}

/** Creates `<forgeRoot>/<name>.git` from a source folder (one commit on `base`), unless it exists. */
export function seedBareRepo(forgeRoot: string, name: string, sourceDir: string, base = 'main'): boolean {
  const bare = join(forgeRoot, `${name}.git`);
  if (existsSync(bare)) return false;
  const work = mkdtempSync(join(tmpdir(), 'agency-seed-'));
  try {
    cpSync(sourceDir, work, { recursive: true, filter: (p) => !p.includes('node_modules') });
    git(work, 'init', '-q', '-b', base);
    git(work, 'add', '-A');
    git(work, 'commit', '-q', '-m', 'Initial commit');
    mkdirSync(dirname(bare), { recursive: true });
    git(dirname(bare), 'clone', '-q', '--bare', work, bare);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return true;
}
