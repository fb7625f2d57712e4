import { DiskUsage, WorktreeDiskWatch } from './worktree-disk-watch.js';

/** A DiskUsage that answers the given readings in turn (the last one again once they run out). */
class ScriptedUsage extends DiskUsage {
  calls = 0;
  constructor(private readonly readings: Array<number | undefined>) {
    super();
  }
  override kilobytes(): Promise<number | undefined> {
    const kb = this.readings[Math.min(this.calls, this.readings.length - 1)];
    this.calls += 1;
    return Promise.resolve(kb);
  }
}

describe('WorktreeDiskWatch', () => {
  it('calls onOver once, the first time the tree holds more than the limit', async () => {
    const usage = new ScriptedUsage([10, 50, 200, 300]);
    const over: number[] = [];
    const watch = new WorktreeDiskWatch(usage, '/slot', 100, 1, (kb) => over.push(kb)).start();
    await expect.poll(() => usage.calls, { timeout: 5000 }).toBeGreaterThanOrEqual(4);
    expect(await watch.stop()).toEqual({ kb: 300, over: true });
    expect(over).toEqual([200]);
  });

  it('measures once more when the command ends, so a short command past the limit is caught', async () => {
    const usage = new ScriptedUsage([500]);
    const over: number[] = [];
    const watch = new WorktreeDiskWatch(usage, '/slot', 100, 60_000, (kb) => over.push(kb)).start();
    expect(await watch.stop()).toEqual({ kb: 500, over: true });
    expect(over).toEqual([500]);
    expect(usage.calls).toBe(1);
  });

  it('is not over when the tree stays under the limit, or cannot be measured', async () => {
    expect(await new WorktreeDiskWatch(new ScriptedUsage([99]), '/slot', 100, 60_000, () => undefined).start().stop()).toEqual({ kb: 99, over: false });
    expect(await new WorktreeDiskWatch(new ScriptedUsage([undefined]), '/slot', 100, 60_000, () => undefined).start().stop()).toEqual({ kb: 0, over: false });
  });
});
