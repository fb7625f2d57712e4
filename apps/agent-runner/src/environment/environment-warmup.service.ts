import { Inject, Injectable } from '@nestjs/common';
import type { PlanCommand } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { withSpan, type AgencyPinoLogger } from '@agency/telemetry';
import { AgentRunnerConfig } from '../agent-runner.config.js';
import { branchName } from '../git/branch-name.js';
import { WorkspaceService } from '../git/workspace.service.js';
import { BaselineTests } from './baseline-tests.js';
import { JobEnvironments } from './job-environments.service.js';

/**
 * The job's environment while its plan is written. The worktree at the base, the repository's
 * setup and the tests at the base need nothing from the plan, yet they ran only when coding
 * started: 30 of the agency's 52 s in the citty re-run trial, after a planner that had taken
 * 15-55 s. The plan step starts them here in the background and does not wait for them; the
 * job's next step and its cleanup wait (`settle`), and the first code round finds the worktree
 * made, the setup `present` (its prompt says the dependencies were installed before it
 * started) and the tests at the base known. Never fails anything: what went
 * wrong is logged and the code step does it again as it always did (a failed setup is tried
 * once more there).
 */
@Injectable()
export class EnvironmentWarmup {
  private readonly running = new Map<string, Promise<void>>();
  /** What each running warm-up is doing now (its last progress message), for the step that waits for it. */
  private readonly doing = new Map<string, string>();

  constructor(
    private readonly config: AgentRunnerConfig,
    @Inject(WorkspaceService) private readonly workspaces: Pick<WorkspaceService, 'openFresh'>,
    @Inject(JobEnvironments) private readonly environments: Pick<JobEnvironments, 'ensure'>,
    @Inject(BaselineTests) private readonly baseline: Pick<BaselineTests, 'run'>,
    @Inject(SERVICE_LOGGER) private readonly logger: Pick<AgencyPinoLogger, 'info' | 'warn' | 'debug'>,
  ) {}

  /** Starts the job's environment at the plan's base unless it is off (ENVIRONMENT_WARMUP=false) or already on its way. */
  start(jobId: string, cmd: PlanCommand, baseSha: string, signal: AbortSignal, progress?: (message: string) => void): void {
    if (!this.config.ENVIRONMENT_WARMUP || this.running.has(jobId) || signal.aborted) return;
    // Said where the operator looks (the plan step's heartbeats while it plans), not only in the runner's log (rou3 re-run).
    const report = (message: string) => {
      this.doing.set(jobId, message);
      this.logger.debug({ jobId }, `warm-up: ${message}`);
      progress?.(message);
    };
    const task = this.warm(jobId, cmd, baseSha, signal, report)
      .catch((e: unknown) => {
        this.logger.warn({ jobId, err: e instanceof Error ? e.message : String(e) }, 'environment warm-up failed; the code step builds the environment itself');
      })
      .finally(() => {
        this.running.delete(jobId);
        this.doing.delete(jobId);
      });
    this.running.set(jobId, task);
  }

  /** What the job's warm-up is doing, while one runs. */
  activity(jobId: string): string | undefined {
    return this.running.has(jobId) ? (this.doing.get(jobId) ?? 'environment: making the worktree') : undefined;
  }

  /** Resolves once nothing of the job's warm-up runs any more (at once when none does). */
  async settle(jobId: string): Promise<void> {
    await this.running.get(jobId);
  }

  private async warm(jobId: string, cmd: PlanCommand, baseSha: string, signal: AbortSignal, progress: (message: string) => void): Promise<void> {
    const started = Date.now();
    await withSpan('environment warm-up', { attributes: { 'agency.job_id': jobId, 'agency.repo': cmd.repo.name } }, async (span) => {
      const ws = await this.workspaces.openFresh(jobId, cmd.repo, branchName(cmd.fr.id, cmd.fr.title), baseSha);
      if (signal.aborted) return;
      const limits = cmd.strategy.sandbox ? { limits: cmd.strategy.sandbox } : {};
      const summary = await this.environments.ensure(ws, cmd.repo, { jobId, ...limits, progress });
      span.setAttribute('agency.environment.action', summary.action);
      // The tests at the base say nothing after a failed setup (the code step does not run them then either).
      const baseline = summary.ok && !signal.aborted ? await this.baseline.run(ws, cmd.repo, { jobId, ...limits, progress, signal }) : undefined;
      this.logger.info(
        { jobId, setup: summary.action, setupOk: summary.ok, baselinePassed: baseline?.passed, durationMs: Date.now() - started },
        'job environment ready while planning',
      );
    });
  }
}
