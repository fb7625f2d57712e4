import { existsSync, mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, type TempDir } from '@agency/testing';
import { GitClient, GitCommandError } from '../src/git/git.client.js';
import type { GitServiceConfig } from '../src/git-service.config.js';
import { git } from './support/forge-fixture.js';

describe('GitClient on host git', () => {
  let dir: TempDir;
  let repo: string;
  const client = new GitClient({ GIT_TIMEOUT_MS: 30_000 } as GitServiceConfig);

  beforeEach(() => {
    dir = tempDir('git-client-');
    repo = join(dir.path, 'repo');
    mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'a.txt'), 'a\n');
    git(repo, 'add', 'a.txt');
  });

  afterEach(() => dir.remove());

  it('commits as Agency <agency@localhost> and runs none of the repository’s hooks, even one its config points to', async () => {
    const marker = join(dir.path, 'hook-ran');
    const hooks = join(dir.path, 'evil-hooks');
    mkdirSync(hooks);
    for (const name of ['pre-commit', 'commit-msg', 'post-commit']) {
      writeFileSync(join(hooks, name), `#!/bin/sh\ntouch '${marker}'\nexit 1\n`);
      chmodSync(join(hooks, name), 0o755);
    }
    git(repo, 'config', 'core.hooksPath', hooks);
    await client.run(repo, ['commit', '-q', '-m', 'by the service']);
    expect(existsSync(marker)).toBe(false);
    expect(git(repo, 'log', '-1', '--format=%an <%ae>|%cn <%ce>')).toBe('Agency <agency@localhost>|Agency <agency@localhost>');
  });

  it('ignores git variables of its own environment that would redirect it', async () => {
    const before = { GIT_DIR: process.env.GIT_DIR, GIT_AUTHOR_NAME: process.env.GIT_AUTHOR_NAME };
    process.env.GIT_DIR = join(dir.path, 'elsewhere');
    process.env.GIT_AUTHOR_NAME = 'Mallory';
    try {
      await client.run(repo, ['commit', '-q', '-m', 'env']);
      expect(git(repo, 'log', '-1', '--format=%an')).toBe('Agency');
    } finally {
      for (const [k, v] of Object.entries(before))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
  });

  it('never runs the ext:: transport', async () => {
    const marker = join(dir.path, 'pwned');
    const result = await client.attempt(repo, ['ls-remote', `ext::sh -c touch% ${marker}`]);
    expect(result.ok).toBe(false);
    expect(existsSync(marker)).toBe(false);
  });

  it('reports the exit code of a silent failure, which simple-git alone would call success', async () => {
    await client.run(repo, ['commit', '-q', '-m', 'one']);
    const first = git(repo, 'rev-parse', 'HEAD');
    writeFileSync(join(repo, 'b.txt'), 'b\n');
    git(repo, 'add', 'b.txt');
    await client.run(repo, ['commit', '-q', '-m', 'two']);
    const second = git(repo, 'rev-parse', 'HEAD');
    expect((await client.attempt(repo, ['merge-base', '--is-ancestor', first, second])).ok).toBe(true);
    const no = await client.attempt(repo, ['merge-base', '--is-ancestor', second, first]);
    expect(no.ok).toBe(false);
    if (!no.ok) {
      expect(no.error).toBeInstanceOf(GitCommandError);
      expect(no.error.exitCode).toBe(1);
    }
  });
});
