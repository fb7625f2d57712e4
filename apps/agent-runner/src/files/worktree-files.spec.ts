import { execFileSync } from 'node:child_process';
import { chownSync, linkSync, lstatSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, type TempDir } from '@agency/testing';
import type { AgentRunnerConfig } from '../agent-runner.config.js';
import { WorktreeOwner } from '../sandbox/worktree-owner.js';
import { UnsafePathError, WorkspaceTamperedError } from './path-errors.js';
import { MAX_EDIT_BYTES, WorktreeFiles } from './worktree-files.js';

describe('WorktreeFiles on a real directory', () => {
  let base: TempDir;
  let root: string;
  const files = new WorktreeFiles();

  beforeEach(() => {
    base = tempDir('worktree-files-');
    root = join(base.path, 'worktrees', 'job-1');
    mkdirSync(join(root, 'src'), { recursive: true });
    writeFileSync(join(root, 'src', 'a.js'), 'a\n');
    writeFileSync(join(base.path, 'secret.txt'), 'secret\n');
  });

  afterEach(() => base.remove());

  it('reads through links that stay inside, and writes through none', async () => {
    symlinkSync('src', join(root, 'alias'));
    symlinkSync('../src/a.js', join(root, 'src', 'up-and-back.js'));
    expect(await files.readForModel(root, 'alias/a.js', 1000)).toBe('a\n');
    expect(await files.readForModel(root, 'src/up-and-back.js', 1000)).toBe('a\n');
    await expect(files.write(root, [{ path: 'alias/b.js', content: 'b' }])).rejects.toThrow('goes through a symlink (alias -> src); use the real path');
    await expect(files.edit(root, 'src/up-and-back.js', 'a', 'b')).rejects.toThrow('is a symlink (src/up-and-back.js -> ../src/a.js)');
    expect(readFileSync(join(root, 'src', 'a.js'), 'utf8')).toBe('a\n');
  });

  it('never reads or writes outside, whatever links lead there', async () => {
    symlinkSync(base.path, join(root, 'out'));
    symlinkSync('../../secret.txt', join(root, 'rel-out.txt'));
    symlinkSync('.git/config', join(root, 'git-config'));
    for (const path of ['out/secret.txt', 'rel-out.txt', 'git-config']) {
      await expect(files.readForModel(root, path, 1000)).rejects.toThrow(UnsafePathError);
      expect(await files.readText(root, path, 1000)).toBeUndefined();
      await expect(files.write(root, [{ path, content: 'pwned' }])).rejects.toThrow(UnsafePathError);
    }
    await expect(files.list(root, 'out', 100)).rejects.toThrow('pointing outside the repository');
    expect(readFileSync(join(base.path, 'secret.txt'), 'utf8')).toBe('secret\n');
  });

  it('lists links as entries without following them', async () => {
    symlinkSync(base.path, join(root, 'out'));
    expect((await files.list(root, '', 100)).files.map((f) => f.path)).toEqual(['out', 'src/a.js']);
  });

  it('does not block on a fifo, and refuses fifos and hard links', async () => {
    execFileSync('mkfifo', [join(root, 'pipe')]);
    linkSync(join(root, 'src', 'a.js'), join(root, 'twin.js'));
    await expect(files.readForModel(root, 'pipe', 1000)).rejects.toThrow('is a fifo, not a regular file');
    expect(await files.readText(root, 'pipe', 1000)).toBeUndefined();
    await expect(files.write(root, [{ path: 'pipe', content: 'x' }])).rejects.toThrow('is a fifo');
    await expect(files.readForModel(root, 'twin.js', 1000)).rejects.toThrow('is a hard link (one of 2 names of the same file)');
    await expect(files.write(root, [{ path: 'src/a.js', content: 'x' }])).rejects.toThrow('is a hard link');
    await expect(files.edit(root, 'twin.js', 'a', 'b')).rejects.toThrow('is a hard link');
    expect(readFileSync(join(root, 'src', 'a.js'), 'utf8')).toBe('a\n');
  });

  it('refuses a huge file by its size, without reading it', async () => {
    writeFileSync(join(root, 'huge.txt'), '');
    truncateSync(join(root, 'huge.txt'), 8 * 1024 ** 3);
    await expect(files.readForModel(root, 'huge.txt', 100_000)).rejects.toThrow(`is ${8 * 1024 ** 3} bytes, more than the 100000`);
    expect(await files.readText(root, 'huge.txt', 100_000)).toBeUndefined();
    await expect(files.edit(root, 'huge.txt', 'a', 'b')).rejects.toThrow(`larger than the ${MAX_EDIT_BYTES} bytes edit_file handles`);
  });

  it('fails every operation with WorkspaceTamperedError when the worktree is not its own directory', async () => {
    const slotRepo = join(base.path, 'sandbox', 'slots', 's1', 'repo');
    mkdirSync(join(slotRepo, '..'), { recursive: true });
    renameSync(root, join(base.path, 'sandbox', 'slots', 's1', 'orig'));
    symlinkSync(base.path, slotRepo);
    symlinkSync(slotRepo, root);
    for (const op of [
      () => files.readForModel(root, 'secret.txt', 1000),
      () => files.readText(root, 'secret.txt', 1000),
      () => files.write(root, [{ path: 'x', content: 'x' }]),
      () => files.list(root, '', 10),
      () => files.edit(root, 'secret.txt', 's', 'x'),
    ]) {
      await expect(op()).rejects.toThrow(WorkspaceTamperedError);
    }
    expect(() => files.check(root, ['x'])).toThrow(WorkspaceTamperedError);
  });

  it('as root, gives what it creates in a worktree handed to the sandbox user to that user', async () => {
    if (process.getuid?.() !== 0) return;
    chownSync(root, 1000, 1000);
    const owned = new WorktreeFiles(undefined, new WorktreeOwner({ SANDBOX_UID: 1000, SANDBOX_GID: 1000 } as AgentRunnerConfig));
    await owned.write(root, [{ path: 'new/deep/b.js', content: 'b' }]);
    for (const p of ['new', 'new/deep', 'new/deep/b.js']) expect(lstatSync(join(root, p))).toMatchObject({ uid: 1000, gid: 1000 });
    expect(statSync(join(root, 'src')).uid).toBe(0);
  });
});
