import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { tempDir, type TempDir } from '@agency/testing';

const GREETER = resolve(import.meta.dirname, '../../../../examples/repos/greeter');

/** Real git for the test's own repositories (the forge's bare repo, an agent's clone). */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'core.hooksPath=/dev/null', '-c', 'user.name=Test Agent', '-c', 'user.email=agent@test', ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LC_ALL: 'C' },
  }).trim();
}

export interface ForgeFixture {
  dir: TempDir;
  vaultPath: string;
  forgeRoot: string;
  workDir: string;
  /** The local forge's bare repository of example/greeter. */
  bare: string;
  /** The commit main starts at. */
  baseSha: string;
  /**
   * Installs client-side hooks into a repository (git-service's mirror) that fail and leave a
   * mark: git-service runs git with hooks disabled, so they must never run. (The forge's own
   * server-side hooks are the forge's policy and do run on a local push, as on any forge.)
   */
  trapHooks(gitDir: string): void;
  /** Whether a trap hook ever ran. */
  hookRan(): boolean;
  remove(): void;
}

/**
 * A vault whose agency.yaml points forges.local.root at a temp folder holding a bare
 * example/greeter.git, seeded from examples/repos/greeter with its main branch; reflogs are on
 * so a test can count how often a ref moved.
 */
export function createForgeFixture(): ForgeFixture {
  const dir = tempDir('git-service-');
  const vaultPath = join(dir.path, 'vault');
  const forgeRoot = join(dir.path, 'forge');
  const workDir = join(dir.path, 'work');
  const bare = join(forgeRoot, 'example', 'greeter.git');
  mkdirSync(join(vaultPath, '40_config'), { recursive: true });
  writeFileSync(
    join(vaultPath, '40_config', 'agency.yaml'),
    [
      'forges:',
      '  local:',
      `    root: ${forgeRoot}`,
      'repos:',
      '  example/greeter:',
      '    forge: local',
      '    base: main',
      '    test: npm test',
      'tiers:',
      '  - name: small',
      '    max_score: 100',
      '    models: { planner: planner, coder: coder, reviewer: reviewer }',
      '',
    ].join('\n'),
  );
  mkdirSync(dirname(bare), { recursive: true });
  git(dir.path, 'init', '--bare', '-b', 'main', bare);
  git(bare, 'config', 'core.logAllRefUpdates', 'true');
  const hookMarker = join(dir.path, 'hook-ran');
  const seed = join(dir.path, 'seed');
  cpSync(GREETER, seed, { recursive: true, filter: (p) => !p.includes('node_modules') });
  git(seed, 'init', '-b', 'main');
  git(seed, 'add', '-A');
  git(seed, 'commit', '-m', 'Greeter: first version');
  git(seed, 'push', '-q', bare, 'main:refs/heads/main');
  const baseSha = git(bare, 'rev-parse', 'refs/heads/main');
  const trapHooks = (gitDir: string) => {
    for (const name of ['pre-push', 'pre-commit', 'pre-merge-commit', 'commit-msg', 'post-merge', 'post-commit', 'reference-transaction', 'post-checkout']) {
      writeFileSync(join(gitDir, 'hooks', name), `#!/bin/sh\necho ${name} >> '${hookMarker}'\nexit 1\n`);
      chmodSync(join(gitDir, 'hooks', name), 0o755);
    }
  };
  return { dir, vaultPath, forgeRoot, workDir, bare, baseSha, trapHooks, hookRan: () => existsSync(hookMarker), remove: () => dir.remove() };
}

/** An agent's clone of the forge repository, the way agent-runner works: commits on an agency branch. */
export class AgentClone {
  readonly path: string;

  /** Branches from the fixture's first main commit, as an agent that started before later merges. */
  constructor(
    fixture: ForgeFixture,
    name: string,
    readonly branch: string,
  ) {
    this.path = join(fixture.dir.path, name);
    git(fixture.dir.path, 'clone', '-q', fixture.bare, this.path);
    git(this.path, 'checkout', '-q', '-b', branch, fixture.baseSha);
  }

  commit(files: Record<string, string>, message: string): string {
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(dirname(join(this.path, file)), { recursive: true });
      writeFileSync(join(this.path, file), text);
    }
    git(this.path, 'add', '-A');
    git(this.path, 'commit', '-q', '-m', message);
    return this.head();
  }

  head(): string {
    return git(this.path, 'rev-parse', 'HEAD');
  }

  /** base..branch as a git bundle, as agent-runner hands work over. */
  bundle(baseSha: string): Buffer {
    const file = join(this.path, '..', `${this.branch.replaceAll('/', '_')}-${Date.now()}.bundle`);
    git(this.path, 'bundle', 'create', '-q', file, this.branch, `^${baseSha}`);
    return readFileSync(file);
  }
}
