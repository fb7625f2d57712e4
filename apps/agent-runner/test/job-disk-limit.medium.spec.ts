import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { RepoTargetDto } from '@agency/contracts';
import type { ArtifactStore } from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import { GitClient } from '../src/git/git.client.js';
import { JobRecordRepository } from '../src/git/job-record.repository.js';
import { KeyedMutex } from '../src/git/keyed-mutex.js';
import { WorkspaceService } from '../src/git/workspace.service.js';
import { WorktreeBoundKind } from '../src/sandbox/docker/worktree-bound.js';
import type { SandboxSession } from '../src/sandbox/sandbox.js';
import { StepFailure } from '../src/steps/step-failure.js';
import { git, makeGreeterForge, type GreeterForge } from './support/greeter-forge.js';
import { startSandboxRig, type SandboxRig } from './support/docker-sandbox.js';

const FILE_MB = 8;
const WORKTREE_MB = 40;
const MB = 1024 * 1024;
/** Files of 4 MB the filling command asks for (400 MB, ten times the limit). */
const ASKED_FILES = 100;

/** Loop devices whose backing file is under `dir` (what a job file system left behind). */
function loopsBackedUnder(dir: string): string[] {
  return readdirSync('/sys/block')
    .filter((d) => d.startsWith('loop'))
    .map((d) => {
      try {
        return readFileSync(`/sys/block/${d}/loop/backing_file`, 'utf8').trim();
      } catch {
        return '';
      }
    })
    .filter((f) => f.startsWith(`${dir}/`));
}

/**
 * Issue 12 item 3, kernel-enforced: each job's worktree is created on its own loop-mounted ext4
 * of SANDBOX_WORKTREE_MB, so many files, each under the per-file cap, stop at the total with
 * ENOSPC, the step fails with SANDBOX_DISK_LIMIT naming the limit, and the host disk never holds
 * more than the limit for the job. Runs as root with loop devices (this machine, CI).
 */
describe('the worktree total, enforced by the kernel (a file system per job)', () => {
  let forge: GreeterForge;
  let rig: SandboxRig;
  let workspaces: WorkspaceService;
  let repo: RepoTargetDto;
  let fill: SandboxSession;

  beforeAll(async () => {
    forge = makeGreeterForge();
    repo = { name: 'example/greeter', cloneUrl: forge.cloneUrl, base: 'main', forge: 'local', testCommand: 'node --test' };
    // The runner's measurement is made too slow to stop anything: only the kernel can.
    rig = await startSandboxRig({
      SANDBOX_POOL_SIZE: 1,
      SANDBOX_DISK_MB: FILE_MB,
      SANDBOX_WORKTREE_MB: WORKTREE_MB,
      SANDBOX_WORKTREE_FS: 'loop',
      SANDBOX_DISK_CHECK_MS: 60_000,
      GIT_TIMEOUT_SECONDS: 60,
    });
    const artifacts = { get: () => Promise.reject(new Error('no artifacts in this test')) } as unknown as ArtifactStore;
    workspaces = new WorkspaceService(
      rig.config,
      new GitClient(rig.config),
      new KeyedMutex(),
      new JobRecordRepository(rig.config),
      artifacts,
      createLogger({ service: 'test', level: 'silent' }),
      undefined,
      rig.disks,
    );
  });

  afterAll(async () => {
    await fill?.close();
    await rig?.dispose();
    forge?.root.remove();
  });

  it('creates the worktree on its own file system of the limit', async () => {
    expect(rig.disks.bound).toEqual({ kind: WorktreeBoundKind.FileSystem, limitMb: WORKTREE_MB });
    const ws = await workspaces.openFresh('job-fill', repo, 'agency/fill');
    fill = await rig.sandbox.open({ workspace: ws.dir, jobId: 'job-fill' });
    expect(rig.disks.isMounted(ws.dir)).toBe(true);
    expect(git(ws.dir, 'rev-parse', 'HEAD')).toBe(forge.baseSha);
    expect(statSync(rig.disks.imageOf(ws.dir)).size).toBe(WORKTREE_MB * MB);
  });

  it('stops a command writing file after file at the total (ENOSPC), failing the step with SANDBOX_DISK_LIMIT', { timeout: 120_000 }, async () => {
    const dir = workspaces.worktreeDirOf('job-fill');
    // 100 files of 4 MB (400 MB) asked for, each under the per-file cap.
    const command = `for i in $(seq 1 ${ASKED_FILES}); do dd if=/dev/zero of=/workspace/repo/fill-$i.bin bs=1M count=4 status=none || exit 9; done; echo FILLED`;
    const failure = await fill.exec({ command, timeoutMs: 100_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(StepFailure);
    const { code, message } = failure as StepFailure;
    expect(code).toBe('SANDBOX_DISK_LIMIT');
    expect(message).toMatch(/no space left \(ENOSPC\)/);
    expect(message).toContain(`the worktree holds at most ${WORKTREE_MB} MB (SANDBOX_WORKTREE_MB`);
    expect(message).toMatch(/No space left on device/);
    expect(message).not.toMatch(/^FILLED$/m);
    // The host: the files stop short of the limit, and the image never holds more than its size.
    const written = readdirSync(dir).filter((f) => f.startsWith('fill-'));
    expect(written.length).toBeGreaterThanOrEqual(5);
    expect(written.length).toBeLessThan(ASKED_FILES);
    const hostBytes = statSync(rig.disks.imageOf(dir)).blocks * 512;
    expect(hostBytes).toBeLessThanOrEqual(WORKTREE_MB * MB);
  });

  it('goes on once the files are removed, and the next job has its own room', { timeout: 120_000 }, async () => {
    const again = await fill.exec({
      command: 'rm -f /workspace/repo/fill-*.bin && dd if=/dev/zero of=/workspace/repo/after.bin bs=1M count=4 status=none && echo ok',
      timeoutMs: 30_000,
    });
    expect(again.output).toBe('ok\n');
    const next = await workspaces.openFresh('job-next', repo, 'agency/next');
    const session = await rig.sandbox.open({ workspace: next.dir, jobId: 'job-next' });
    try {
      const r = await session.exec({
        command: 'for i in 1 2 3 4 5; do dd if=/dev/zero of=/workspace/repo/n-$i.bin bs=1M count=4 status=none || exit 9; done; echo done',
        timeoutMs: 30_000,
      });
      expect(r).toMatchObject({ exitCode: 0, output: 'done\n' });
    } finally {
      await session.close();
    }
    expect(readdirSync(next.dir).filter((f) => f.startsWith('n-'))).toHaveLength(5);
  });

  it('a closed job leaves nothing: no mount, no image, no loop device, no container', { timeout: 60_000 }, async () => {
    await fill.close();
    for (const job of ['job-fill', 'job-next']) {
      const dir = workspaces.worktreeDirOf(job);
      expect(await workspaces.remove(job)).toBe(true);
      expect(rig.disks.isMounted(dir)).toBe(false);
      expect(existsSync(rig.disks.imageOf(dir))).toBe(false);
      expect(existsSync(dir)).toBe(false);
    }
    expect(loopsBackedUnder(rig.disks.imagesDir)).toEqual([]);
    // No warm container either: with a file system per job, none would ever be used.
    expect(await rig.containers()).toEqual([]);
  });

  it('after a restart, reaps an image nothing mounts and a mount whose image is gone; keeps a live one', { timeout: 60_000 }, async () => {
    const dirs = ['job-reboot', 'job-gone', 'job-live'].map((j) => workspaces.worktreeDirOf(j));
    for (const d of dirs) await rig.disks.mountAt(d);
    const [reboot, gone, live] = dirs as [string, string, string];
    execFileSync('umount', [reboot]); // as a machine restart leaves it: the image, an empty mount point
    rmSync(rig.disks.imageOf(gone)); // the image removed under a mount
    const reaped = await rig.disks.reap();
    expect(reaped.sort()).toEqual([gone, rig.disks.imageOf(reboot)].sort());
    expect(existsSync(reboot)).toBe(false);
    expect(rig.disks.isMounted(gone)).toBe(false);
    expect(rig.disks.isMounted(live)).toBe(true);
    expect(await rig.disks.release(live)).toBe(true);
    expect(loopsBackedUnder(rig.disks.imagesDir)).toEqual([]);
  });
});
