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
  // No NO_COLOR (nor FORCE_COLOR): a repository's own colour tests must see the environment its CI
  // has (commander.js: 4 tests failed under NO_COLOR=1); results are read without colours instead.
  LANG: 'C.UTF-8',
  npm_config_cache: '/tmp/.npm',
  npm_config_update_notifier: 'false',
  // No network outside the setup: npm and npx fail at once instead of waiting out a DNS timeout
  // (npx of a tool that is not installed took 71 s in a relay trial). The setup sets it false.
  npm_config_offline: 'true',
  PIP_CACHE_DIR: '/tmp/.cache/pip',
  GOCACHE: '/tmp/.cache/go-build',
  GOPATH: '/tmp/go',
  // What a setup downloads outside the project (Go modules, crates, user-installed Python
  // packages, gems) must outlive the setup's container: kept in the worktree's environment
  // directory, which is excluded from git and cached with the rest of the environment.
  GOMODCACHE: `${SLOT_MOUNT}/${REPO_DIR}/.agency-env/go-mod`,
  CARGO_HOME: `${SLOT_MOUNT}/${REPO_DIR}/.agency-env/cargo`,
  PYTHONUSERBASE: `${SLOT_MOUNT}/${REPO_DIR}/.agency-env/python`,
  BUNDLE_PATH: `${SLOT_MOUNT}/${REPO_DIR}/.agency-env/bundle`,
};

export interface SandboxLimits {
  memoryMb: number;
  /** The most one file may grow to (RLIMIT_FSIZE); absent: no cap. */
  diskMb?: number;
  cpus: number;
  pids: number;
  tmpMb: number;
  /** `none` (the default: no network at all) or a Docker network name for repositories that must download. */
  network: string;
}

export interface ContainerSpecInput {
  image: string;
  /** The node that runs the command server (the image's unreadable copy, see serverNodeOf); default `node`. */
  serverNode?: string;
  name: string;
  /** The slot directory as the Docker engine sees it. */
  slotHostDir: string;
  /**
   * The job's worktree as the engine sees it, when it is its own file system (a mount point, so
   * it cannot move into the slot): bound at /workspace/repo, the slot then read-only, so every
   * byte a command writes outside /tmp lands on that bounded file system.
   */
  worktreeHostDir?: string;
  user: { uid: number; gid: number };
  limits: SandboxLimits;
  labels: Record<string, string>;
  /** More bind mounts (engine paths), for an environment container. */
  extraBinds?: Array<{ hostPath: string; target: string; readOnly: boolean }>;
}

/** Docker names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*; everything else becomes '-'. */
export function containerName(...parts: string[]): string {
  const name = parts
    .join('-')
    .replace(/[^a-zA-Z0-9_.-]+/g, '-')
    .replace(/^[^a-zA-Z0-9]+/, '');
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
    Entrypoint: [input.serverNode ?? 'node'],
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
    // Network mode `none`, not NetworkDisabled: both leave only the loopback interface, but a
    // disabled network also gets no /etc/hosts from the engine, so `localhost` resolves nowhere and
    // test runners that start a local server (vitest, jest workers, supertest) fail with EAI_AGAIN.
    NetworkDisabled: false,
    StopTimeout: 1,
    HostConfig: {
      Binds: [...workspaceBinds(input), ...(input.extraBinds ?? []).map((b) => `${b.hostPath}:${b.target}:${b.readOnly ? 'ro' : 'rw'}`)],
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
      // The kernel stops every write past the cap (EFBIG, SIGXFSZ): the disk limit the engine enforces.
      ...(input.limits.diskMb ? { Ulimits: [{ Name: 'fsize', Soft: input.limits.diskMb * 1024 * 1024, Hard: input.limits.diskMb * 1024 * 1024 }] } : {}),
      IpcMode: 'private',
      // Output travels over the attach stream; nothing a command prints is written to the host's disk.
      LogConfig: { Type: 'none', Config: {} },
      RestartPolicy: { Name: 'no' },
    },
  };
}

/** The slot at /workspace, and the worktree at /workspace/repo when it is bound on its own. */
function workspaceBinds(input: ContainerSpecInput): string[] {
  if (!input.worktreeHostDir) return [`${input.slotHostDir}:${SLOT_MOUNT}:rw`];
  return [`${input.slotHostDir}:${SLOT_MOUNT}:ro`, `${input.worktreeHostDir}:${SANDBOX_WORKDIR}:rw`];
}

/** The image label naming the command server's unreadable node (deploy/images/sandbox.Dockerfile). */
export const SERVER_NODE_LABEL = 'agency.command-server-node';

/** The command server's node as the image's labels name it; undefined: the image has none (plain `node`). */
export function serverNodeOf(labels: Record<string, string> | undefined): string | undefined {
  const path = labels?.[SERVER_NODE_LABEL];
  return path && path.startsWith('/') ? path : undefined;
}
