import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, type TempDir } from '@agency/testing';
import type { AgentRunnerConfig } from '../../agent-runner.config.js';
import { WorkspaceTamperedError } from '../../files/path-errors.js';
import { SlotDirectories } from './slot-directories.js';

describe('SlotDirectories', () => {
  let work: TempDir;
  let slots: SlotDirectories;
  let worktree: string;

  beforeEach(() => {
    work = tempDir('slots-');
    slots = new SlotDirectories({ WORK_DIR: work.path } as AgentRunnerConfig);
    worktree = join(work.path, 'worktrees', 'job-1');
    mkdirSync(worktree, { recursive: true });
    writeFileSync(join(worktree, 'a.txt'), 'a\n');
  });

  afterEach(() => work.remove());

  it('moves a worktree into a slot behind a symlink at its usual path, and back', () => {
    const slot = slots.create();
    expect(slot.hostDir).toBe(slot.dir);
    slots.moveIn(slot, worktree);
    expect(lstatSync(worktree).isSymbolicLink()).toBe(true);
    expect(realpathSync(worktree)).toBe(join(slot.dir, 'repo'));
    writeFileSync(join(worktree, 'b.txt'), 'b\n');
    slots.moveOut(slot, worktree);
    slots.discard(slot);
    expect(lstatSync(worktree).isDirectory()).toBe(true);
    expect(readdirSync(worktree).sort()).toEqual(['a.txt', 'b.txt']);
    expect(existsSync(slot.dir)).toBe(false);
  });

  it('refuses a worktree already in a slot, and one that does not exist', () => {
    slots.moveIn(slots.create(), worktree);
    expect(() => slots.moveIn(slots.create(), worktree)).toThrow('is already in a sandbox');
    expect(() => slots.moveIn(slots.create(), join(work.path, 'worktrees', 'nope'))).toThrow('does not exist');
  });

  it('names slots as the Docker engine sees them when the runner runs in a container', () => {
    const mapped = new SlotDirectories({ WORK_DIR: work.path, SANDBOX_HOST_WORK_DIR: '/srv/agency/work' } as AgentRunnerConfig);
    const slot = mapped.create();
    expect(slot.hostDir).toBe(`/srv/agency/work/sandbox/slots/${slot.id}`);
  });

  it('recovers worktrees stranded in slots by a crash, and clears the slots', () => {
    const slot = slots.create();
    slots.moveIn(slot, worktree);
    const other = join(work.path, 'worktrees', 'job-2');
    mkdirSync(other);
    const fresh = new SlotDirectories({ WORK_DIR: work.path } as AgentRunnerConfig);
    expect(fresh.recover(join(work.path, 'worktrees'))).toEqual([worktree]);
    expect(lstatSync(worktree).isDirectory()).toBe(true);
    expect(readFileSync(join(worktree, 'a.txt'), 'utf8')).toBe('a\n');
    expect(lstatSync(other).isDirectory()).toBe(true);
    expect(readdirSync(fresh.root)).toEqual([]);
    // A session closing after the recovery finds its worktree already home.
    expect(() => slots.moveOut(slot, worktree)).not.toThrow();
  });

  describe('a slot whose repo/ a command replaced', () => {
    let slot: ReturnType<SlotDirectories['create']>;
    let other: string;

    beforeEach(() => {
      other = join(work.path, 'worktrees', 'job-2');
      mkdirSync(other);
      writeFileSync(join(other, 'theirs.txt'), 'theirs\n');
      slot = slots.create();
      slots.moveIn(slot, worktree);
      renameSync(join(slot.dir, 'repo'), join(slot.dir, 'orig'));
    });

    it.each([
      ['a link to another job', () => symlinkSync(other, join(slot.dir, 'repo')), 'a command replaced /workspace/repo with a symlink'],
      ['another directory', () => mkdirSync(join(slot.dir, 'repo')), 'put another directory in its place'],
      ['nothing', () => undefined, 'a command removed or moved /workspace/repo'],
    ])('never moves %s into worktrees/, and fails with WorkspaceTamperedError', (_what, replace, message) => {
      replace();
      let error: unknown;
      try {
        slots.moveOut(slot, worktree);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(WorkspaceTamperedError);
      expect((error as Error).message).toContain(message);
      expect(lstatSync(worktree, { throwIfNoEntry: false })).toBeUndefined();
      slots.discard(slot);
      expect(readdirSync(other)).toEqual(['theirs.txt']);
      // Asked again (a session closing after a failed container replacement), it has nothing more to say.
      expect(() => slots.moveOut(slot, worktree)).not.toThrow();
    });

    it('says what the command did', () => {
      symlinkSync(other, join(slot.dir, 'repo'));
      expect(() => slots.moveOut(slot, worktree)).toThrow(`a command replaced /workspace/repo with a symlink (to ${other})`);
    });

    it('recovers only the claimed directory after a crash', () => {
      symlinkSync(other, join(slot.dir, 'repo'));
      const refused: string[] = [];
      expect(new SlotDirectories({ WORK_DIR: work.path } as AgentRunnerConfig).recover(join(work.path, 'worktrees'), (w) => refused.push(w))).toEqual([]);
      expect(refused).toEqual([worktree]);
      expect(lstatSync(worktree, { throwIfNoEntry: false })).toBeUndefined();
      expect(readdirSync(other)).toEqual(['theirs.txt']);
    });
  });

  it('moves back a worktree a command made read-only', () => {
    const slot = slots.create();
    slots.moveIn(slot, worktree);
    chmodSync(join(slot.dir, 'repo'), 0o555);
    slots.moveOut(slot, worktree);
    expect(lstatSync(worktree).isDirectory()).toBe(true);
  });
});
