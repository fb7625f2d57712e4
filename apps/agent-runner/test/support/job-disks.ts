import type { AgentRunnerConfig } from '../../src/agent-runner.config.js';
import { JobDisks } from '../../src/sandbox/docker/job-disks.js';

/**
 * Unmounts the job file systems a runner on `workDir` left (they outlive the runner, as its
 * worktrees do) and removes their images, so the test's directory can go.
 */
export async function releaseJobDisks(workDir: string): Promise<string[]> {
  return new JobDisks({ WORK_DIR: workDir, SANDBOX_WORKTREE_MB: 0 } as AgentRunnerConfig).releaseAll();
}
