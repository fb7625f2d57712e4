import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '@agency/telemetry';
import { tempDir, type TempDir } from '@agency/testing';
import type { AgentRunnerConfig } from '../../src/agent-runner.config.js';
import { ContainerReaper } from '../../src/sandbox/docker/container-reaper.js';
import { LABELS } from '../../src/sandbox/docker/container-spec.js';
import { DockerEngine } from '../../src/sandbox/docker/docker.engine.js';
import { DockerSandbox } from '../../src/sandbox/docker/docker.sandbox.js';
import { JobDisks } from '../../src/sandbox/docker/job-disks.js';
import { DiskUsage } from '../../src/sandbox/docker/worktree-disk-watch.js';
import { SlotDirectories } from '../../src/sandbox/docker/slot-directories.js';
import { SandboxImages } from '../../src/sandbox/sandbox-images.js';
import { WorktreeOwner } from '../../src/sandbox/worktree-owner.js';
import { VAULT_PATH } from './greeter-forge.js';

export const SANDBOX_IMAGE = process.env.AGENCY_SANDBOX_IMAGE ?? 'localhost/agency/sandbox:latest';

/**
 * The Docker-backed tests need an engine and the locally built sandbox image; without them they
 * fail at once, saying what to do (CI runs scripts/docker/prepare-for-tests.sh first).
 */
export async function requireDocker(engine = new DockerEngine()): Promise<DockerEngine> {
  if (!(await engine.ping(5000))) {
    throw new Error(
      'no Docker engine answers (DOCKER_HOST or /var/run/docker.sock): these tests run against a real engine; start one with scripts/docker/ensure-engine.sh',
    );
  }
  if (!(await engine.imageExists(SANDBOX_IMAGE))) {
    throw new Error(`the sandbox image ${SANDBOX_IMAGE} is missing: build it with scripts/docker/build-images.sh`);
  }
  return engine;
}

export function sandboxConfig(workDir: string, patch: Partial<AgentRunnerConfig> = {}): AgentRunnerConfig {
  return {
    WORK_DIR: workDir,
    VAULT_PATH,
    TEST_OUTPUT_MAX_BYTES: 200_000,
    COMMAND_TIMEOUT_SECONDS: 60,
    SANDBOX_IMAGE,
    SANDBOX_POOL_SIZE: 1,
    SANDBOX_OWNER: `test-${randomUUID().slice(0, 8)}`,
    SANDBOX_MEMORY_MB: 256,
    SANDBOX_CPUS: 1,
    SANDBOX_PIDS: 64,
    SANDBOX_TMP_MB: 64,
    SANDBOX_DISK_MB: 1024,
    SANDBOX_WORKTREE_MB: 10_240,
    // The rig's workspaces are plain directories: the slot path, the worktree measured. A test wanting a file system per job says `loop`.
    SANDBOX_WORKTREE_FS: 'off',
    SANDBOX_DISK_CHECK_MS: 2000,
    SANDBOX_NETWORK: 'none',
    SANDBOX_UID: 1000,
    SANDBOX_GID: 1000,
    ...patch,
  } as AgentRunnerConfig;
}

export interface SandboxRig {
  work: TempDir;
  config: AgentRunnerConfig;
  engine: DockerEngine;
  sandbox: DockerSandbox;
  reaper: ContainerReaper;
  /** The job file systems (SANDBOX_WORKTREE_FS); the rig's own workspaces are plain directories unless a test mounts one. */
  disks: JobDisks;
  /** A directory under WORK_DIR/worktrees with a file in it, as a worktree would be. */
  workspace(jobId: string, files?: Record<string, string>): string;
  /** Sandbox containers of this rig's owner that exist right now. */
  containers(): Promise<string[]>;
  dispose(): Promise<void>;
}

export async function startSandboxRig(patch: Partial<AgentRunnerConfig> = {}): Promise<SandboxRig> {
  const engine = await requireDocker();
  const work = tempDir('docker-sandbox-');
  const config = sandboxConfig(work.path, patch);
  const logger = createLogger({ service: 'test', level: 'silent' });
  const reaper = new ContainerReaper(engine, logger);
  const disks = new JobDisks(config, engine);
  const sandbox = new DockerSandbox(
    config,
    engine,
    new SlotDirectories(config),
    new SandboxImages(config),
    new WorktreeOwner(config),
    reaper,
    logger,
    new DiskUsage(),
    disks,
  );
  await sandbox.onModuleInit();
  return {
    work,
    config,
    engine,
    sandbox,
    reaper,
    disks,
    workspace: (jobId, files = { 'README.md': `job ${jobId}\n` }) => {
      const dir = join(work.path, 'worktrees', jobId);
      mkdirSync(dir, { recursive: true });
      for (const [name, content] of Object.entries(files)) {
        mkdirSync(join(dir, name, '..'), { recursive: true });
        writeFileSync(join(dir, name), content);
      }
      return dir;
    },
    containers: async () => (await engine.list([`${LABELS.owner}=${config.SANDBOX_OWNER}`])).map((c) => c.names[0] ?? c.id),
    dispose: async () => {
      await sandbox.onApplicationShutdown();
      await disks.releaseAll();
      work.remove();
    },
  };
}
