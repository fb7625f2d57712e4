import type { Provider } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { AgentRunnerConfig } from '../agent-runner.config.js';
import { ContainerReaper } from './docker/container-reaper.js';
import { DockerEngine } from './docker/docker.engine.js';
import { DockerSandbox } from './docker/docker.sandbox.js';
import { SlotDirectories } from './docker/slot-directories.js';
import { WorktreeOwner } from './worktree-owner.js';
import { ProcessSandbox } from './process.sandbox.js';
import { Sandbox } from './sandbox.js';
import { SandboxImages } from './sandbox-images.js';

/** What the sandbox needs besides the config and logger; provided next to `sandboxProvider`. */
export const SANDBOX_PROVIDERS = [DockerEngine, SlotDirectories, SandboxImages, WorktreeOwner, ContainerReaper];

/**
 * SANDBOX picks the backend. Docker (the default) with no engine stops the service at boot rather
 * than running untrusted code on the host: the host-process backend (no isolation) is only ever
 * used when SANDBOX=process asks for it, and says so.
 */
export const sandboxProvider: Provider = {
  provide: Sandbox,
  inject: [AgentRunnerConfig, DockerEngine, SlotDirectories, SandboxImages, WorktreeOwner, ContainerReaper, SERVICE_LOGGER],
  useFactory: async (
    config: AgentRunnerConfig,
    engine: DockerEngine,
    slots: SlotDirectories,
    images: SandboxImages,
    owners: WorktreeOwner,
    reaper: ContainerReaper,
    logger: AgencyPinoLogger,
  ): Promise<Sandbox> => {
    if (config.SANDBOX === 'process') {
      logger.warn('SANDBOX=process: agent commands run as plain host processes, without isolation');
      return new ProcessSandbox(config);
    }
    if (!(await engine.ping())) {
      throw new Error('SANDBOX=docker (the default) but no Docker engine answers (DOCKER_HOST or /var/run/docker.sock); start one (scripts/docker/ensure-engine.sh), or set SANDBOX=process to run commands on the host without isolation');
    }
    return new DockerSandbox(config, engine, slots, images, owners, reaper, logger);
  },
};
