import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir, type TempDir } from '@agency/testing';

export const GREETER_SOURCE = resolve(import.meta.dirname, '../../../../examples/repos/greeter');
export const VAULT_PATH = resolve(import.meta.dirname, '../../../../examples/vault');

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@localhost',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@localhost',
};

/** Plain git for the test's own setup and checks (the code under test has its own client). */
export function git(cwd: string, ...args: string[]): string {
  // safe.directory: the Docker sandbox hands worktrees to its unprivileged user, and the test's git may run as root.
  return execFileSync('git', ['-c', 'core.hooksPath=/dev/null', '-c', 'safe.directory=*', ...args], {
    cwd,
    env: GIT_ENV,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

export interface GreeterForge {
  root: TempDir;
  /** The bare repository agents clone from, as a path (a local forge). */
  cloneUrl: string;
  baseSha: string;
  /** A fresh clone of the forge in a new directory. */
  freshClone(name: string): string;
}

/** examples/repos/greeter committed on main and pushed to a bare "forge" repository in a temp dir. */
export function makeGreeterForge(): GreeterForge {
  const root = tempDir('greeter-forge-');
  const src = join(root.path, 'src');
  cpSync(GREETER_SOURCE, src, { recursive: true, filter: (p) => !p.includes('node_modules') });
  git(src, 'init', '-q', '-b', 'main');
  git(src, 'add', '-A');
  git(src, 'commit', '-q', '-m', 'greeter: initial');
  const cloneUrl = join(root.path, 'forge', 'example', 'greeter.git');
  git(root.path, 'clone', '-q', '--bare', src, cloneUrl);
  const baseSha = git(cloneUrl, 'rev-parse', 'main');
  return {
    root,
    cloneUrl,
    baseSha,
    freshClone: (name) => {
      const dir = join(root.path, name);
      git(root.path, 'clone', '-q', cloneUrl, dir);
      return dir;
    },
  };
}
