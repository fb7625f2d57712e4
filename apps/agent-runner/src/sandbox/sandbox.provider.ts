import type { Provider } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { PermanentError } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { AgentRunnerConfig } from '../agent-runner.config.js';
import { ContainerReaper } from './docker/container-reaper.js';
import { DockerEngine } from './docker/docker.engine.js';
import { DockerSandbox } from './docker/docker.sandbox.js';
import { SlotDirectories } from './docker/slot-directories.js';
import { JobDisks } from './docker/job-disks.js';
import { DiskUsage } from './docker/worktree-disk-watch.js';
import { WorktreeOwner } from './worktree-owner.js';
import { nonScriptedModels } from '@agency/vault';
import { probeIsolation, type IsolationMode } from './process-isolation.js';
import { ProcessSandbox } from './process.sandbox.js';
import { Sandbox } from './sandbox.js';
import { SandboxImages } from './sandbox-images.js';

/** What the sandbox needs besides the config and logger; provided next to `sandboxProvider`. */
export const SANDBOX_PROVIDERS = [DockerEngine, SlotDirectories, SandboxImages, WorktreeOwner, ContainerReaper, JobDisks];

/**
 * Why the vault's models forbid host processes, or undefined when they allow them: every alias
 * the agents use resolves to a `scripted` provider, or the operator said SANDBOX_PROCESS_UNSAFE=allow.
 */
export function processSandboxRefusal(config: Pick<AgentRunnerConfig, 'VAULT_PATH' | 'SANDBOX_PROCESS_UNSAFE'>): string | undefined {
  if (config.SANDBOX_PROCESS_UNSAFE === 'allow') return undefined;
  const live = nonScriptedModels(config.VAULT_PATH);
  if (live.length === 0) return undefined;
  return `SANDBOX=process runs agent commands on this host, and these models of the vault are not scripted: ${live.join('; ')}. Use the Docker sandbox (SANDBOX=docker, scripts/docker/build-images.sh), or set SANDBOX_PROCESS_UNSAFE=allow to accept host processes for a live model`;
}

/** What a command in the process sandbox can reach, per isolation mode, for the boot log. */
const EXPOSURE: Record<IsolationMode, string> = {
  root: "commands run in their own namespaces (no network, own /proc and /tmp, WORK_DIR hidden but for the job's worktree) as SANDBOX_UID/GID without capabilities; they still see the host's other files as that user",
  user: "commands run in their own namespaces (no network, own /proc and /tmp, WORK_DIR hidden but for the job's worktree) inside a user namespace, as the runner's own user without capabilities; they can write whatever that user can outside WORK_DIR",
  none: "commands run as plain host processes: as SANDBOX_UID/GID when the runner is root (the runner's environment and memory, root's files and the Docker socket out of their reach), else as the runner's own user (they can read its environment: the gateway key); either way they share the host's network (NATS's port, without credentials) and /tmp, can write what that user can (other jobs' worktrees of the same owner), and a setsid process outlives them",
};

/** SANDBOX=process: refused for a live model unless allowed, isolated as far as the host lets it, and said loudly. */
function processSandbox(config: AgentRunnerConfig, owners: WorktreeOwner, logger: AgencyPinoLogger): ProcessSandbox {
  const refusal = processSandboxRefusal(config);
  if (refusal) throw new Error(refusal);
  const { mode, why } = probeIsolation();
  const live = config.SANDBOX_PROCESS_UNSAFE === 'allow' ? nonScriptedModels(config.VAULT_PATH) : [];
  const message = `SANDBOX=process: ${EXPOSURE[mode]}${why ? ` (no namespaces here: ${why})` : ''}${live.length > 0 ? `; SANDBOX_PROCESS_UNSAFE=allow accepts this for live models: ${live.join('; ')}` : ''}`;
  if (mode === 'none' || live.length > 0) logger.warn({ isolation: mode }, message);
  else logger.info({ isolation: mode }, message);
  return new ProcessSandbox(config, {
    isolation: mode,
    owner: owners,
    checkModels: () => {
      const now = processSandboxRefusal(config);
      if (now) throw new PermanentError(now, 'SANDBOX_REFUSED');
    },
  });
}

/**
 * SANDBOX picks the backend. Docker (the default) with no engine stops the service at boot rather
 * than running untrusted code on the host: the host-process backend (no isolation) is only ever
 * used when SANDBOX=process asks for it, and says so.
 */
export const sandboxProvider: Provider = {
  provide: Sandbox,
  inject: [AgentRunnerConfig, DockerEngine, SlotDirectories, SandboxImages, WorktreeOwner, ContainerReaper, SERVICE_LOGGER, JobDisks],
  useFactory: async (
    config: AgentRunnerConfig,
    engine: DockerEngine,
    slots: SlotDirectories,
    images: SandboxImages,
    owners: WorktreeOwner,
    reaper: ContainerReaper,
    logger: AgencyPinoLogger,
    disks: JobDisks,
  ): Promise<Sandbox> => {
    if (config.SANDBOX === 'process') return processSandbox(config, owners, logger);
    if (!(await engine.ping())) {
      throw new Error(
        'SANDBOX=docker (the default) but no Docker engine answers (DOCKER_HOST or /var/run/docker.sock); start one (scripts/docker/ensure-engine.sh), or set SANDBOX=process to run commands on the host without isolation',
      );
    }
    return new DockerSandbox(config, engine, slots, images, owners, reaper, logger, new DiskUsage(), disks);
  },
};
