import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRelativePath, resolveInside, UnsafePathError } from './path-guard.js';

describe('checkRelativePath', () => {
  it('normalizes harmless paths', () => {
    expect(checkRelativePath('src/a.js')).toBe('src/a.js');
    expect(checkRelativePath('./src//a.js')).toBe('src/a.js');
    expect(checkRelativePath('docs/.github-notes.md')).toBe('docs/.github-notes.md');
  });

  it.each([
    ['../outside.js', 'contains ".."'],
    ['src/../../x', 'contains ".."'],
    ['..', 'contains ".."'],
    ['/etc/passwd', 'is absolute'],
    ['C:/Windows/x', 'is absolute'],
    ['src\\a.js', 'backslash'],
    ['', 'is empty'],
    ['.', 'repository root'],
    ['.git/config', 'inside .git'],
    ['sub/.GIT/hooks/pre-commit', 'inside .git'],
    ['a\u0000b', 'control characters'],
  ])('refuses %j (%s)', (path, problem) => {
    expect(() => checkRelativePath(path)).toThrow(UnsafePathError);
    expect(() => checkRelativePath(path)).toThrow(problem);
  });
});

describe('resolveInside', () => {
  let base: string;
  let root: string;
  let outside: string;

  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'path-guard-'));
    root = join(base, 'worktree');
    outside = join(base, 'outside');
    mkdirSync(join(root, 'src'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    writeFileSync(join(root, 'src', 'a.js'), 'a');
  });

  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('resolves existing and new paths inside the worktree', () => {
    expect(resolveInside(root, 'src/a.js')).toMatch(/worktree\/src\/a\.js$/);
    expect(resolveInside(root, 'src/new/deep/b.js')).toMatch(/worktree\/src\/new\/deep\/b\.js$/);
  });

  it('refuses a file that is a symlink pointing outside', () => {
    symlinkSync(join(outside, 'secret.txt'), join(root, 'src', 'link.txt'));
    expect(() => resolveInside(root, 'src/link.txt')).toThrow(/is a symlink pointing outside the repository/);
  });

  it('refuses a path through a symlinked directory pointing outside', () => {
    symlinkSync(outside, join(root, 'escape'));
    expect(() => resolveInside(root, 'escape/new-file.js')).toThrow(/goes through a symlink pointing outside the repository \(escape ->/);
    expect(() => resolveInside(root, 'escape/secret.txt')).toThrow(UnsafePathError);
  });

  it('refuses an absolute symlink whatever it points at, and any link on a path to write', () => {
    symlinkSync(join(outside, 'missing', 'x'), join(root, 'dangling'));
    expect(() => resolveInside(root, 'dangling')).toThrow(/is a symlink pointing outside the repository \(dangling -> /);
    symlinkSync(join(root, 'src'), join(root, 'absolute-alias'));
    expect(() => resolveInside(root, 'absolute-alias/a.js')).toThrow(/goes through a symlink pointing outside the repository/);
    symlinkSync('src', join(root, 'alias'));
    expect(() => resolveInside(root, 'alias/a.js')).toThrow('goes through a symlink (alias -> src); use the real path');
    symlinkSync('a.js', join(root, 'src', 'b.js'));
    expect(() => resolveInside(root, 'src/b.js')).toThrow('is a symlink (src/b.js -> a.js); write to the file it points to instead');
  });

  it('refuses a relative symlink that climbs out of the worktree', () => {
    symlinkSync('../../outside', join(root, 'src', 'up'));
    expect(() => resolveInside(root, 'src/up/secret.txt')).toThrow('goes through a symlink pointing outside the repository (src/up -> ../../outside)');
  });

  it('refuses a path through a file', () => {
    expect(() => resolveInside(root, 'src/a.js/b.js')).toThrow('cannot be reached: src/a.js is a file, not a directory');
  });

  it('refuses lexical escapes before touching the disk', () => {
    expect(() => resolveInside(root, '../outside/secret.txt')).toThrow('contains ".."');
    expect(() => resolveInside(root, join(outside, 'secret.txt'))).toThrow('is absolute');
  });
});
