import { Module, type DynamicModule } from '@nestjs/common';
import type { AgentRunnerConfig } from './agent-runner.config.js';
import { AgentsRepository } from './agents/agents.repository.js';
import { llmClientProvider } from './agents/llm.provider.js';
import { CancellationFollower } from './cleanup/cancellation-follower.service.js';
import { CleanupHandler } from './cleanup/cleanup.handler.js';
import { CodeHandler } from './coding/code.handler.js';
import { CheckpointHandover } from './coding/checkpoint-handover.js';
import { CoderService } from './coding/coder.service.js';
import { EnvironmentCache } from './environment/environment-cache.js';
import { BaselineTests } from './environment/baseline-tests.js';
import { EnvironmentWarmup } from './environment/environment-warmup.service.js';
import { JobEnvironments } from './environment/job-environments.service.js';
import { RegistryProxies } from './environment/registry-proxy.js';
import { WorktreeFiles } from './files/worktree-files.js';
import { WorktreeRoots } from './files/worktree-roots.js';
import { GitClient } from './git/git.client.js';
import { JobRecordRepository } from './git/job-record.repository.js';
import { KeyedMutex } from './git/keyed-mutex.js';
import { MirrorSource } from './git/mirror-source.js';
import { WorkspaceService } from './git/workspace.service.js';
import { WorktreeGit } from './git/worktree-git.js';
import { PlanHandler } from './planning/plan.handler.js';
import { PlannerService } from './planning/planner.service.js';
import { RepoInstructionsReader } from './planning/repo-instructions.reader.js';
import { RepoStatsStore } from './repo-stats.store.js';
import { SandboxMetrics } from './sandbox/sandbox.metrics.js';
import { SANDBOX_PROVIDERS, sandboxProvider } from './sandbox/sandbox.provider.js';
import { HeartbeatService } from './steps/heartbeat.service.js';
import { StepRunner } from './steps/step-runner.service.js';
import { JobAborts } from './steps/job-aborts.js';
import { JobCancellations } from './steps/job-cancellations.js';
import { JobLocks } from './steps/job-locks.js';
import { Timers } from './steps/timers.js';
import { TestHandler } from './testing/test.handler.js';
import { TesterService } from './testing/tester.service.js';

@Module({})
export class AgentRunnerModule {
  static forRoot(_config: AgentRunnerConfig): DynamicModule {
    return {
      module: AgentRunnerModule,
      controllers: [PlanHandler, CodeHandler, TestHandler, CleanupHandler],
      providers: [
        PlannerService,
        RepoStatsStore,
        CoderService,
        CheckpointHandover,
        RepoInstructionsReader,
        TesterService,
        JobEnvironments,
        BaselineTests,
        EnvironmentWarmup,
        EnvironmentCache,
        RegistryProxies,
        StepRunner,
        JobCancellations,
        JobAborts,
        CancellationFollower,
        JobLocks,
        HeartbeatService,
        Timers,
        AgentsRepository,
        llmClientProvider,
        WorkspaceService,
        MirrorSource,
        SandboxMetrics,
        GitClient,
        KeyedMutex,
        JobRecordRepository,
        WorktreeFiles,
        WorktreeRoots,
        WorktreeGit,
        ...SANDBOX_PROVIDERS,
        // SANDBOX=docker|process; unset: Docker when an engine answers.
        sandboxProvider,
      ],
    };
  }
}
