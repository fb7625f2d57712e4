import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StepFailure } from '../src/steps/step-failure.js';
import { DiskUsage } from '../src/sandbox/docker/worktree-disk-watch.js';
import type { SandboxSession } from '../src/sandbox/sandbox.js';
import { startSandboxRig, type SandboxRig } from './support/docker-sandbox.js';

const FILE_MB = 8;
const WORKTREE_MB = 40;

/**
 * Issue 12 item 3, the worktree as a whole: many files, each under the kernel's per-file cap, can
 * no longer fill the host's disk. The runner measures the worktree while the command runs and
 * stops it past SANDBOX_WORKTREE_MB.
 */
describe('the worktree disk limit, as a whole', () => {
  let rig: SandboxRig;
  let session: SandboxSession;
  let workspace: string;

  beforeAll(async () => {
    rig = await startSandboxRig({ SANDBOX_POOL_SIZE: 0, SANDBOX_DISK_MB: FILE_MB, SANDBOX_WORKTREE_MB: WORKTREE_MB, SANDBOX_DISK_CHECK_MS: 200 });
    workspace = rig.workspace('job-fill');
    session = await rig.sandbox.open({ workspace, jobId: 'job-fill' });
  });

  afterAll(async () => {
    await session?.close();
    await rig?.dispose();
  });

  it('stops a command that writes file after file past the total, with SANDBOX_DISK_LIMIT naming it', { timeout: 120_000 }, async () => {
    // 500 files of 4 MB (2 GB) asked for, each under the per-file cap; the loop never ends by itself.
    const fill = `for i in $(seq 1 500); do dd if=/dev/zero of=/workspace/repo/fill-$i.bin bs=1M count=4 status=none || exit 9; done; echo FILLED`;
    const failure = await session.exec({ command: fill, timeoutMs: 100_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(StepFailure);
    expect((failure as StepFailure).code).toBe('SANDBOX_DISK_LIMIT');
    expect((failure as StepFailure).message).toMatch(new RegExp(`past its limit of ${WORKTREE_MB} MB \\(SANDBOX_WORKTREE_MB\\)`));
    expect((failure as StepFailure).message).not.toMatch(/^FILLED$/m);
    // What reached the host: far less than asked for (the loop was stopped, not finished).
    const written = readdirSync(workspace).filter((f) => f.startsWith('fill-'));
    expect(written.length).toBeGreaterThan(WORKTREE_MB / 4);
    expect(written.length).toBeLessThan(500);
  });

  it('goes on in a fresh container once the files are removed', { timeout: 60_000 }, async () => {
    const r = await session.exec({ command: 'rm -f /workspace/repo/fill-*.bin; echo cleaned', timeoutMs: 30_000 });
    expect(r.output).toBe('cleaned\n');
    expect(readdirSync(workspace).filter((f) => f.startsWith('fill-'))).toEqual([]);
  });

  it('measures what the tree holds on disk, without following links out of it', async () => {
    const usage = new DiskUsage();
    const kb = await usage.kilobytes(join(workspace));
    expect(kb).toBeGreaterThanOrEqual(0);
    expect(kb).toBeLessThan(1024);
    expect(await usage.kilobytes(join(workspace, 'no-such-dir'))).toBeUndefined();
    expect(statSync(workspace).isDirectory()).toBe(true);
  });
});
