import { lstatSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, type TempDir } from '@agency/testing';
import type { AgentRunnerConfig } from '../agent-runner.config.js';
import { JobRecordRepository } from '../git/job-record.repository.js';
import { WorkspaceTamperedError } from './path-errors.js';
import { openWorktreeRoot, WorktreeRoots } from './worktree-roots.js';

describe('openWorktreeRoot', () => {
  let work: TempDir;
  let worktree: string;
  let slotRepo: string;

  /** The layout a session leaves: the worktree in a slot's repo/, the runner's link at its usual path. */
  const intoSlot = () => {
    mkdirSync(join(work.path, 'sandbox', 'slots', 's1'), { recursive: true });
    renameSync(worktree, slotRepo);
    symlinkSync(slotRepo, worktree);
  };
  const identity = () => {
    const info = lstatSync(slotRepo, { throwIfNoEntry: false }) ?? lstatSync(worktree);
    return { dev: info.dev, ino: info.ino };
  };

  beforeEach(() => {
    work = tempDir('roots-');
    worktree = join(work.path, 'worktrees', 'job-1');
    slotRepo = join(work.path, 'sandbox', 'slots', 's1', 'repo');
    mkdirSync(worktree, { recursive: true });
    writeFileSync(join(worktree, 'a.txt'), 'a\n');
    mkdirSync(join(work.path, 'elsewhere'));
  });

  afterEach(() => work.remove());

  it('opens the worktree at home, and in its slot through the runner own link', () => {
    const home = openWorktreeRoot(worktree, identity());
    expect(home.path).toBe(worktree);
    expect(home.handle.lstat('a.txt')?.isFile()).toBe(true);
    home.close();
    const before = identity();
    intoSlot();
    const away = openWorktreeRoot(worktree, before);
    expect(away.path).toBe(slotRepo);
    expect(away.handle.lstat('a.txt')?.isFile()).toBe(true);
    away.close();
  });

  it.each([
    ['a symlink', () => symlinkSync(join(work.path, 'elsewhere'), slotRepo), /a command replaced \/workspace\/repo with a symlink \(to .*elsewhere\)/],
    ['a file', () => writeFileSync(slotRepo, 'x'), 'a command replaced /workspace/repo with a file'],
    ['nothing', () => undefined, 'gone from its sandbox slot'],
    ['another directory', () => mkdirSync(slotRepo), "is not the job's worktree: a command moved the worktree away"],
  ])('refuses a slot whose repo/ a command moved away and replaced with %s', (_what, replace, message) => {
    const before = identity();
    intoSlot();
    renameSync(slotRepo, join(work.path, 'sandbox', 'slots', 's1', 'orig'));
    replace();
    expect(() => openWorktreeRoot(worktree, before)).toThrow(WorkspaceTamperedError);
    expect(() => openWorktreeRoot(worktree, before)).toThrow(message);
  });

  it('refuses a worktree path that is a link anywhere but into a slot', () => {
    rmSync(worktree, { recursive: true });
    symlinkSync(join(work.path, 'elsewhere'), worktree);
    expect(() => openWorktreeRoot(worktree)).toThrow('is a symlink to');
    expect(() => openWorktreeRoot(join(work.path, 'worktrees', 'nope'))).toThrow('does not exist');
  });

  it("checks the identity in the job's record", () => {
    const config = { WORK_DIR: work.path } as AgentRunnerConfig;
    const records = new JobRecordRepository(config);
    const roots = new WorktreeRoots(config, records);
    records.save({
      jobId: 'job-1',
      repo: 'r',
      mirrorDir: '/m',
      worktreeDir: worktree,
      branch: 'b',
      baseSha: 'x',
      createdAt: '',
      worktree: { dev: identity().dev, ino: identity().ino + 1 },
    });
    expect(() => roots.open(worktree)).toThrow(WorkspaceTamperedError);
    records.save({ jobId: 'job-1', repo: 'r', mirrorDir: '/m', worktreeDir: worktree, branch: 'b', baseSha: 'x', createdAt: '', worktree: identity() });
    roots.open(worktree).close();
    // A directory that is not one of the runner's worktrees has no record to check.
    roots.open(join(work.path, 'elsewhere')).close();
  });
});
