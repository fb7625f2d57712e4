import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, type TempDir } from '@agency/testing';
import { giveOwnerAccess, openUpTree, removeTree } from './tree-removal.js';

describe('tree removal (what a sandboxed command left, locked or linked)', () => {
  let dir: TempDir;
  let outside: TempDir;

  beforeEach(() => {
    dir = tempDir('tree-removal-');
    outside = tempDir('tree-removal-outside-');
    mkdirSync(join(outside.path, 'target'));
    writeFileSync(join(outside.path, 'target', 'keep.txt'), 'keep\n');
    chmodSync(join(outside.path, 'target'), 0o500);
  });

  afterEach(() => {
    chmodSync(join(outside.path, 'target'), 0o755);
    dir.remove();
    outside.remove();
  });

  it("gives the owner access to a locked directory back, and never changes a link's target", () => {
    const locked = join(dir.path, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o000);
    giveOwnerAccess(locked);
    expect(statSync(locked).mode & 0o777).toBe(0o700);
    const link = join(dir.path, 'link');
    symlinkSync(join(outside.path, 'target'), link);
    expect(() => giveOwnerAccess(link)).toThrow(/ENOTDIR|ELOOP/);
    expect(statSync(join(outside.path, 'target')).mode & 0o777).toBe(0o500);
  });

  it('opens up every directory of a tree, not the ones behind links', () => {
    mkdirSync(join(dir.path, 'a', 'b'), { recursive: true });
    symlinkSync(join(outside.path, 'target'), join(dir.path, 'a', 'out'));
    chmodSync(join(dir.path, 'a', 'b'), 0o000);
    chmodSync(join(dir.path, 'a'), 0o100);
    openUpTree(dir.path);
    expect(statSync(join(dir.path, 'a')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir.path, 'a', 'b')).mode & 0o777).toBe(0o700);
    expect(statSync(join(outside.path, 'target')).mode & 0o777).toBe(0o500);
  });

  it('removes a tree with links in it, and leaves what they point to', () => {
    mkdirSync(join(dir.path, 'slot', 'orig'), { recursive: true });
    symlinkSync(join(outside.path, 'target'), join(dir.path, 'slot', 'repo'));
    chmodSync(join(dir.path, 'slot', 'orig'), 0o000);
    removeTree(join(dir.path, 'slot'));
    expect(existsSync(join(dir.path, 'slot'))).toBe(false);
    expect(readFileSync(join(outside.path, 'target', 'keep.txt'), 'utf8')).toBe('keep\n');
  });
});
