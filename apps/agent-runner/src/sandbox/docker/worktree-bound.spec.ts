import { describeWorktreeBound, wantsEngineTrial, worktreeBoundOf, WorktreeBoundKind, type MountAbility } from './worktree-bound.js';

const able: MountAbility = { root: true, loopDevices: true, tools: true };

describe('worktreeBoundOf', () => {
  it('gives each worktree its own file system when the runner can mount one (auto and loop)', () => {
    for (const mode of ['auto', 'loop'] as const)
      expect(worktreeBoundOf({ limitMb: 40, mode, ability: able })).toEqual({ kind: WorktreeBoundKind.FileSystem, limitMb: 40, via: 'host' });
  });

  it('measures instead under auto, saying why the kernel cannot bound it', () => {
    const cases: Array<[Partial<MountAbility>, RegExp]> = [
      [{ root: false }, /not root/],
      [{ loopDevices: false }, /no loop devices/],
      [{ tools: false }, /mkfs\.ext4/],
    ];
    for (const [lack, why] of cases) {
      const bound = worktreeBoundOf({ limitMb: 40, mode: 'auto', ability: { ...able, ...lack } });
      expect(bound).toMatchObject({ kind: WorktreeBoundKind.Measured, limitMb: 40 });
      expect(bound.kind === WorktreeBoundKind.Measured && bound.reason).toMatch(why);
    }
  });

  it('mounts through the engine when the runner is not root but a trial mount through the engine worked', () => {
    const notRoot = { ...able, root: false };
    expect(worktreeBoundOf({ limitMb: 40, mode: 'auto', ability: { ...notRoot, engine: { ok: true } } })).toEqual({
      kind: WorktreeBoundKind.FileSystem,
      limitMb: 40,
      via: 'engine',
    });
    const failed = worktreeBoundOf({ limitMb: 40, mode: 'auto', ability: { ...notRoot, engine: { ok: false, why: 'the runner does not see the mount' } } });
    expect(failed.kind === WorktreeBoundKind.Measured && failed.reason).toBe(
      'the runner is not root, so it cannot mount a file system per job, and the engine cannot mount one for it (the runner does not see the mount)',
    );
  });

  it('tries the engine only when a kernel bound is wanted and the runner cannot mount itself', () => {
    expect(wantsEngineTrial({ limitMb: 40, mode: 'auto', ability: { ...able, root: false } })).toBe(true);
    expect(wantsEngineTrial({ limitMb: 40, mode: 'auto', ability: able })).toBe(false);
    expect(wantsEngineTrial({ limitMb: 40, mode: 'off', ability: { ...able, root: false } })).toBe(false);
    expect(wantsEngineTrial({ limitMb: 0, mode: 'loop', ability: { ...able, root: false } })).toBe(false);
  });

  it('refuses to boot under loop when the runner cannot mount, naming the reason and the way out', () => {
    expect(() => worktreeBoundOf({ limitMb: 40, mode: 'loop', ability: { ...able, root: false } })).toThrow(
      /SANDBOX_WORKTREE_FS=loop but the runner is not root.*SANDBOX_WORKTREE_FS=auto/,
    );
  });

  it('measures under off, and bounds nothing when the limit is 0 (whatever the mode)', () => {
    expect(worktreeBoundOf({ limitMb: 40, mode: 'off', ability: able })).toEqual({
      kind: WorktreeBoundKind.Measured,
      limitMb: 40,
      reason: 'SANDBOX_WORKTREE_FS=off',
    });
    expect(worktreeBoundOf({ limitMb: 0, mode: 'loop', ability: { ...able, root: false } })).toEqual({ kind: WorktreeBoundKind.None });
  });
});

describe('describeWorktreeBound', () => {
  it('says in the boot log which bound is active', () => {
    expect(describeWorktreeBound({ kind: WorktreeBoundKind.FileSystem, limitMb: 40, via: 'host' }, 2000)).toMatch(
      /at 40 MB, enforced by the kernel \(a loop-mounted ext4 per job, mounted by the runner/,
    );
    expect(describeWorktreeBound({ kind: WorktreeBoundKind.FileSystem, limitMb: 40, via: 'engine' }, 2000)).toMatch(
      /mounted through the engine's helper container/,
    );
    expect(describeWorktreeBound({ kind: WorktreeBoundKind.Measured, limitMb: 40, reason: 'no loop devices' }, 2000)).toMatch(
      /measured every 2000 ms .*no kernel bound: no loop devices/,
    );
    expect(describeWorktreeBound({ kind: WorktreeBoundKind.None }, 2000)).toMatch(/not capped/);
  });
});
