import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { RepoTargetDto } from '@agency/contracts';
import type { ArtifactStore } from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import { GitClient } from '../src/git/git.client.js';
import { JobRecordRepository } from '../src/git/job-record.repository.js';
import { KeyedMutex } from '../src/git/keyed-mutex.js';
import { WorkspaceService } from '../src/git/workspace.service.js';
import { JobDisks } from '../src/sandbox/docker/job-disks.js';
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

/**
 * Loop devices backed by an image of these jobs (`<job>.img`, named by basename: a mount made
 * through the engine names its file as the helper container saw it).
 */
function loopsOf(jobs: string[]): string[] {
  const names = new Set(jobs.map((j) => `${j}.img`));
  return readdirSync('/sys/block')
    .filter((d) => d.startsWith('loop'))
    .map((d) => {
      try {
        return readFileSync(`/sys/block/${d}/loop/backing_file`, 'utf8').trim();
      } catch {
        return '';
      }
    })
    .filter((f) => names.has(basename(f.replace(/ \(deleted\)$/, ''))));
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
    expect(rig.disks.bound).toEqual({ kind: WorktreeBoundKind.FileSystem, limitMb: WORKTREE_MB, via: 'host' });
    const ws = await workspaces.openFresh('jd-fill', repo, 'agency/fill');
    fill = await rig.sandbox.open({ workspace: ws.dir, jobId: 'jd-fill' });
    expect(rig.disks.isMounted(ws.dir)).toBe(true);
    expect(git(ws.dir, 'rev-parse', 'HEAD')).toBe(forge.baseSha);
    expect(statSync(rig.disks.imageOf(ws.dir)).size).toBe(WORKTREE_MB * MB);
    expect(loopsOf(['jd-fill'])).toHaveLength(1);
  });

  it('stops a command writing file after file at the total (ENOSPC), failing the step with SANDBOX_DISK_LIMIT', { timeout: 120_000 }, async () => {
    const dir = workspaces.worktreeDirOf('jd-fill');
    // 100 files of 4 MB (400 MB) asked for, each under the per-file cap.
    const failure = await fill.exec({ command: FILL, timeoutMs: 100_000 }).then(
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
    // ENOSPC printed by a failing command with room left (a repository's own test, say) is that command's failure, not the limit.
    const printed = await fill.exec({ command: "echo 'Error: ENOSPC: no space left on device, write'; exit 1", timeoutMs: 30_000 });
    expect(printed).toMatchObject({ exitCode: 1, output: 'Error: ENOSPC: no space left on device, write\n' });
    const next = await workspaces.openFresh('jd-next', repo, 'agency/next');
    const session = await rig.sandbox.open({ workspace: next.dir, jobId: 'jd-next' });
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
    for (const job of ['jd-fill', 'jd-next']) {
      const dir = workspaces.worktreeDirOf(job);
      expect(await workspaces.remove(job)).toBe(true);
      expect(rig.disks.isMounted(dir)).toBe(false);
      expect(existsSync(rig.disks.imageOf(dir))).toBe(false);
      expect(existsSync(dir)).toBe(false);
    }
    expect(loopsOf(['jd-fill', 'jd-next'])).toEqual([]);
    // Only the warm pool's container is left (a worktree on its own file system never takes one).
    expect((await rig.containers()).filter((n) => !n.includes('-pool-'))).toEqual([]);
  });

  it('after a restart, reaps an image nothing mounts and a mount whose image is gone; keeps a live one', { timeout: 60_000 }, async () => {
    const dirs = ['jd-reboot', 'jd-gone', 'jd-live'].map((j) => workspaces.worktreeDirOf(j));
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
    expect(loopsOf(['jd-reboot', 'jd-gone', 'jd-live'])).toEqual([]);
  });
});

/** The fill command of both suites: ASKED_FILES files of 4 MB, each under the per-file cap. */
const FILL = `for i in $(seq 1 ${ASKED_FILES}); do dd if=/dev/zero of=/workspace/repo/fill-$i.bin bs=1M count=4 status=none || exit 9; done; echo FILLED`;

/**
 * The same bound for a runner that is not root but has Docker (deploy/k8s): the file system is
 * made and mounted by a helper container of the engine, and reaches the runner through mount
 * propagation (WORK_DIR a shared mount, as kubelet keeps pod volumes). Here the runner's
 * inability is declared (the test runs as root); everything else is real.
 */
describe('the worktree total through the engine, for a runner that cannot mount', () => {
  let forge: GreeterForge;
  let rig: SandboxRig;
  let shared = false;
  const notRoot = { root: false, loopDevices: true, tools: true };

  const workspacesWith = (disks: JobDisks) =>
    new WorkspaceService(
      rig.config,
      new GitClient(rig.config),
      new KeyedMutex(),
      new JobRecordRepository(rig.config),
      { get: () => Promise.reject(new Error('no artifacts in this test')) } as unknown as ArtifactStore,
      createLogger({ service: 'test', level: 'silent' }),
      undefined,
      disks,
    );

  beforeAll(async () => {
    forge = makeGreeterForge();
    rig = await startSandboxRig({
      SANDBOX_POOL_SIZE: 0,
      SANDBOX_DISK_MB: FILE_MB,
      SANDBOX_WORKTREE_MB: WORKTREE_MB,
      SANDBOX_WORKTREE_FS: 'auto',
      SANDBOX_DISK_CHECK_MS: 60_000,
    });
  });

  afterAll(async () => {
    await rig?.disks.releaseAll();
    if (shared) execFileSync('umount', [rig.work.path]);
    await rig?.dispose();
    forge?.root.remove();
  });

  it('falls back to measuring, saying why, when the runner would not see what the engine mounts', async () => {
    const disks = new JobDisks(rig.config, rig.engine, notRoot);
    const bound = await disks.init();
    expect(bound.kind).toBe(WorktreeBoundKind.Measured);
    expect(bound.kind === WorktreeBoundKind.Measured && bound.reason).toMatch(/^the runner is not root, .*and the engine cannot mount one for it \(/);
    expect(await rig.containers()).toEqual([]);
  });

  it('mounts through the engine once WORK_DIR propagates mounts; a fill stops at the total; removal leaves nothing', { timeout: 180_000 }, async () => {
    execFileSync('mount', ['--bind', rig.work.path, rig.work.path]);
    shared = true;
    execFileSync('mount', ['--make-rshared', rig.work.path]);
    const disks = new JobDisks(rig.config, rig.engine, notRoot);
    expect(await disks.init()).toEqual({ kind: WorktreeBoundKind.FileSystem, limitMb: WORKTREE_MB, via: 'engine' });
    const workspaces = workspacesWith(disks);
    const ws = await workspaces.openFresh(
      'jd-engine',
      { name: 'example/greeter', cloneUrl: forge.cloneUrl, base: 'main', forge: 'local', testCommand: 'node --test' },
      'agency/engine',
    );
    expect(disks.isMounted(ws.dir)).toBe(true);
    expect(loopsOf(['jd-engine'])).toHaveLength(1);
    const session = await rig.sandbox.open({ workspace: ws.dir, jobId: 'jd-engine' });
    try {
      const failure = await session.exec({ command: FILL, timeoutMs: 100_000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(StepFailure);
      expect((failure as StepFailure).code).toBe('SANDBOX_DISK_LIMIT');
      expect((failure as StepFailure).message).toContain(`the worktree holds at most ${WORKTREE_MB} MB (SANDBOX_WORKTREE_MB`);
      expect(readdirSync(ws.dir).filter((f) => f.startsWith('fill-')).length).toBeLessThan(ASKED_FILES);
      expect(statSync(disks.imageOf(ws.dir)).blocks * 512).toBeLessThanOrEqual(WORKTREE_MB * MB);
    } finally {
      await session.close();
    }
    expect(await workspaces.remove('jd-engine')).toBe(true);
    expect(disks.isMounted(ws.dir)).toBe(false);
    expect(existsSync(disks.imageOf(ws.dir))).toBe(false);
    expect(loopsOf(['jd-engine'])).toEqual([]);
    // No helper container left behind either.
    expect(await rig.containers()).toEqual([]);
  });
});
