import { execFile } from 'node:child_process';
import { join, relative, resolve } from 'node:path';
import type Docker from 'dockerode';
import type { DockerEngine } from './docker.engine.js';
import { LABELS } from './container-spec.js';

const TIMEOUT_MS = 120_000;
const PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The only steps that make, mount and unmount a job's file system, run as root on the host or
 * in the engine's helper container: the same script either way. A sparse image, ext4 without a
 * journal (scratch space: a crash loses the job's worktree, rebuilt from its bundle), no reserved
 * blocks, an inode per 8 KB (node_modules is many small files; unused inode tables cost nothing
 * in a sparse image), mounted nosuid,nodev and `discard` (freed blocks go back to the host), the
 * root given to `owner` (the runner's user, who creates the worktree in it).
 */
export const DISK_SCRIPT = `set -eu
case "$1" in
  make)
    img=$2; mb=$3; dir=$4; owner=$5
    rm -f "$img"
    truncate -s "\${mb}M" "$img"
    mkfs.ext4 -q -F -m 0 -O ^has_journal -i 8192 -E lazy_itable_init=1,nodiscard "$img"
    mkdir -p "$dir"
    mount -t ext4 -o loop,nosuid,nodev,noinit_itable,discard "$img" "$dir"
    rmdir "$dir/lost+found"
    chown "$owner" "$dir"
    ;;
  unmount)
    umount "$2" 2>/dev/null || umount -l "$2"
    ;;
  *) echo "unknown step $1" >&2; exit 2 ;;
esac
`;

export type DiskStep = ['make', string, string, string, string] | ['unmount', string];

/** Runs DISK_SCRIPT's steps somewhere that may mount: the host (a root runner) or a helper container of the engine. */
export interface DiskMounter {
  readonly via: 'host' | 'engine';
  run(step: DiskStep): Promise<void>;
}

/** As root, on the host: the runner's own mount namespace. */
export class HostDiskMounter implements DiskMounter {
  readonly via = 'host' as const;

  run(step: DiskStep): Promise<void> {
    return new Promise((resolvePromise, reject) => {
      execFile('sh', ['-c', DISK_SCRIPT, 'sh', ...step], { env: { PATH, LC_ALL: 'C' }, timeout: TIMEOUT_MS }, (err, _out, stderr) =>
        err ? reject(new Error(`${step[0]} of a job file system failed: ${stderr.trim() || err.message}`)) : resolvePromise(),
      );
    });
  }
}

/**
 * Through the engine, for a runner that is not root but has Docker (deploy/k8s: uid 1000 with a
 * DinD sidecar): a short-lived helper container from the sandbox image runs the step as root with
 * CAP_SYS_ADMIN and the loop devices only, with WORK_DIR bound `rshared`, so the mount reaches the
 * engine's mount namespace (where sandbox containers bind it) and, when WORK_DIR is a shared
 * mount there, the runner's own (k8s: mountPropagation Bidirectional for the engine's container,
 * HostToContainer for the runner's). Paths are given as the engine sees them.
 */
export class EngineDiskMounter implements DiskMounter {
  readonly via = 'engine' as const;

  constructor(
    private readonly engine: DockerEngine,
    private readonly image: string,
    private readonly owner: string,
    /** WORK_DIR as this process sees it, and as the engine does (SANDBOX_HOST_WORK_DIR, else the same). */
    private readonly workDir: string,
    private readonly engineWorkDir: string,
  ) {}

  async run(step: DiskStep): Promise<void> {
    const args = step.map((a) => (a.startsWith('/') ? this.enginePathOf(a) : a));
    const { exitCode, output } = await this.engine.runToEnd(this.helperSpec(args), TIMEOUT_MS);
    if (exitCode !== 0) throw new Error(`${step[0]} of a job file system through the engine failed (exit ${exitCode}): ${output.trim().slice(-2000)}`);
  }

  /** The helper container: root with CAP_SYS_ADMIN (mount) and the file capabilities mkfs and chown need, loop devices only, no network. */
  helperSpec(args: string[]): Docker.ContainerCreateOptions {
    return {
      Image: this.image,
      User: '0:0',
      Entrypoint: ['sh', '-c', DISK_SCRIPT, 'sh'],
      Cmd: args,
      Env: [`PATH=${PATH}`, 'LC_ALL=C'],
      Labels: { [LABELS.sandbox]: 'true', [LABELS.owner]: this.owner },
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        Binds: [`${this.engineWorkDir}:${this.engineWorkDir}:rshared`, '/dev:/dev'],
        NetworkMode: 'none',
        CapDrop: ['ALL'],
        CapAdd: ['SYS_ADMIN', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER'],
        // Block devices of major 7 (loop) and /dev/loop-control (10:237): nothing else of /dev is usable.
        DeviceCgroupRules: ['b 7:* rmw', 'c 10:237 rmw'],
        // Docker's default AppArmor profile denies mount(2).
        SecurityOpt: ['apparmor=unconfined'],
        LogConfig: { Type: 'none', Config: {} },
        RestartPolicy: { Name: 'no' },
      },
    };
  }

  private enginePathOf(path: string): string {
    const rel = relative(resolve(this.workDir), resolve(path));
    if (rel.startsWith('..')) throw new Error(`a job file system must be under WORK_DIR, got ${path}`);
    return join(this.engineWorkDir, rel);
  }
}
