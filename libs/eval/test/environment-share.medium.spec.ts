import { existsSync, mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, type TempDir } from '@agency/testing';
import { EnvironmentShare } from '../src/environment-share.js';

/** An entry as the agent-runner's cache stores it: the archive, then its description. */
function entry(dir: string, key: string, bytes = 10, at = new Date('2026-01-01T00:00:00Z')): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${key}.tar`), Buffer.alloc(bytes));
  writeFileSync(join(dir, `${key}.json`), JSON.stringify({ key }));
  utimesSync(join(dir, `${key}.json`), at, at);
}

describe('EnvironmentShare', () => {
  let dir: TempDir;
  let shared: string;
  const runner = (name: string) => join(dir.path, name, 'work', 'agent-runner');
  const entries = (name: string) => join(runner(name), 'environments', 'entries');

  beforeEach(() => {
    dir = tempDir('eval-env-share-');
    shared = join(dir.path, 'shared');
  });
  afterEach(() => dir.remove());

  it("takes a stack's new entries, gives them to the next stack, and tells a restore from an install", () => {
    const share = new EnvironmentShare(shared);
    // The first stack: nothing to give; its runner installs and stores entry a.
    const first = share.seed(runner('one'));
    expect(first.size).toBe(0);
    entry(entries('one'), 'a');
    // A half-written entry (no description yet) is not taken.
    writeFileSync(join(entries('one'), 'b.tar'), 'x');
    expect(share.harvest(runner('one'), first)).toEqual({ seeded: 0, restored: 0, stored: 1 });
    expect(existsSync(join(shared, 'a.json')) && !existsSync(join(shared, 'b.tar'))).toBe(true);

    // Two stacks at once get a (the archive linked, a description of their own); the second's
    // runner restores it, touching its description; the third's does not use it.
    const second = share.seed(runner('two'));
    const third = share.seed(runner('three'));
    expect([...second.keys()]).toEqual(['a']);
    expect(statSync(join(entries('two'), 'a.tar')).ino).toBe(statSync(join(shared, 'a.tar')).ino);
    expect(statSync(join(entries('two'), 'a.json')).ino).not.toBe(statSync(join(shared, 'a.json')).ino);
    const now = new Date();
    utimesSync(join(entries('two'), 'a.json'), now, now);
    expect(share.harvest(runner('two'), second)).toEqual({ seeded: 1, restored: 1, stored: 0 });
    expect(share.harvest(runner('three'), third)).toEqual({ seeded: 1, restored: 0, stored: 0 });
    // The restore marks the shared entry as used (for the folder's eviction).
    expect(statSync(join(shared, 'a.json')).mtimeMs).toBeGreaterThan(Date.parse('2026-01-01T00:00:00Z'));
  });

  it('keeps the shared folder within its size, dropping the least recently used entries', () => {
    const share = new EnvironmentShare(shared, 25);
    entry(entries('one'), 'old', 10, new Date('2026-01-01T00:00:00Z'));
    entry(entries('one'), 'mid', 10, new Date('2026-01-02T00:00:00Z'));
    share.harvest(runner('one'), new Map());
    entry(entries('two'), 'new', 10, new Date('2026-01-03T00:00:00Z'));
    share.harvest(runner('two'), new Map());
    expect(['old', 'mid', 'new'].map((k) => existsSync(join(shared, `${k}.json`)))).toEqual([false, true, true]);
  });
});
