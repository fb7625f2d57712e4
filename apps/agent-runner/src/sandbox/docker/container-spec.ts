import type Docker from 'dockerode';
import { commandServerArgs } from './command.server.js';

/** Where the slot directory is mounted; the job's worktree is its `repo` subdirectory. */
export const SLOT_MOUNT = '/workspace';
export const REPO_DIR = 'repo';
/** The commands' working directory inside the container. */
export const SANDBOX_WORKDIR = `${SLOT_MOUNT}/${REPO_DIR}`;

export const LABELS = {
  /** Present on every sandbox container; the reaper never touches anything without it. */
  sandbox: 'agency.sandbox',
  /** The runner that owns the container (SANDBOX_OWNER): stable across its restarts. */
  owner: 'agency.sandbox.owner',
  /** One process lifetime of that runner. */
  incarnation: 'agency.sandbox.incarnation',
  slot: 'agency.sandbox.slot',
} as const;

/**
 * The whole environment a command sees besides the image's own (PATH and the like): nothing is
 * copied from the runner's environment, so no key, token or host setting can leak in. HOME and
 * the caches point at the writable tmpfs, since the root file system is read-only.
 */
export const SANDBOX_ENV: Readonly<Record<string, string>> = {
  HOME: '/tmp',
  TMPDIR: '/tmp',
  CI: 'true',
  NO_COLOR: '1',
  FORCE_COLOR: '0',
  LANG: 'C.UTF-8',
  npm_config_cache: '/tmp/.npm',
  npm_config_update_notifier: 'false',
  PIP_CACHE_DIR: '/tmp/.cache/pip',
  GOCACHE: '/tmp/.cache/go-build',
  GOPATH: '/tmp/go',
};

export interface SandboxLimits {
  memoryMb: number;
  cpus: number;
  pids: number;
  tmpMb: number;
  /** `none` (the default: no network at all) or a Docker network name for repositories that must download. */
  network: string;
}

export interface ContainerSpecInput {
  image: string;
  name: string;
  /** The slot directory as the Docker engine sees it. */
  slotHostDir: string;
  user: { uid: number; gid: number };
  limits: SandboxLimits;
  labels: Record<string, string>;
}

/** Docker names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*; everything else becomes '-'. */
export function containerName(...parts: string[]): string {
  const name = parts.join('-').replace(/[^a-zA-Z0-9_.-]+/g, '-').replace(/^[^a-zA-Z0-9]+/, '');
  return name.slice(0, 200) || 'agency-sandbox';
}

/**
 * A hardened sandbox container: the command server as its main process under an init, the slot
 * bind-mounted at /workspace, no network, a read-only root with a small writable /tmp, no
 * capabilities, no privilege gain, a non-root user, and memory / CPU / process limits. Memory
 * and swap are the same number: no swap, so a memory hog meets the OOM killer rather than the disk.
 */
export function containerSpec(input: ContainerSpecInput): Docker.ContainerCreateOptions {
  if (input.user.uid === 0) throw new Error('the sandbox never runs as root (uid 0)');
  const memory = input.limits.memoryMb * 1024 * 1024;
  return {
    name: input.name,
    Image: input.image,
    Hostname: 'sandbox',
    User: `${input.user.uid}:${input.user.gid}`,
    WorkingDir: SLOT_MOUNT,
    Entrypoint: ['node'],
    Cmd: commandServerArgs(),
    Env: Object.entries(SANDBOX_ENV).map(([k, v]) => `${k}=${v}`),
    Labels: input.labels,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    // When the runner's attach connection goes (it exited, or was killed), the server reads EOF and ends the container.
    StdinOnce: true,
    Tty: false,
    NetworkDisabled: input.limits.network === 'none',
    StopTimeout: 1,
    HostConfig: {
      Binds: [`${input.slotHostDir}:${SLOT_MOUNT}:rw`],
      NetworkMode: input.limits.network,
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${input.limits.tmpMb}m,mode=1777` },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Init: true,
      Memory: memory,
      MemorySwap: memory,
      NanoCpus: Math.round(input.limits.cpus * 1e9),
      PidsLimit: input.limits.pids,
      IpcMode: 'private',
      // Output travels over the attach stream; nothing a command prints is written to the host's disk.
      LogConfig: { Type: 'none', Config: {} },
      RestartPolicy: { Name: 'no' },
    },
  };
}
