import type { PlanCommand, RepoTargetDto } from '@agency/contracts';
import type { AgencyPinoLogger } from '@agency/telemetry';
import type { AgentRunnerConfig } from '../agent-runner.config.js';
import type { JobWorkspace } from '../git/workspace.service.js';
import type { BaselineResult } from './baseline-tests.js';
import { EnvironmentWarmup } from './environment-warmup.service.js';
import type { EnsureOptions, EnvironmentSummary } from './job-environments.service.js';

const repo = { name: 'acme/lib', cloneUrl: '/f/lib.git', base: 'main', forge: 'local', testCommand: 'npm test', setupCommand: 'npm ci' } as RepoTargetDto;
const cmd = {
  fr: { id: 'FR-7', title: 'Add a thing', body: '', criteria: [] },
  repo,
  strategy: { budgetUsd: 1, sandbox: { memoryMb: 1024 } },
} as unknown as PlanCommand;
const BASE = 'b'.repeat(40);

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

function rig(config: Partial<AgentRunnerConfig> = {}) {
  const log: string[] = [];
  const setup = deferred<EnvironmentSummary>();
  const warnings: string[] = [];
  const logger = {
    info: () => undefined,
    debug: () => undefined,
    warn: (o: object, m?: string) => void warnings.push(`${m} ${JSON.stringify(o)}`),
  } as unknown as Pick<AgencyPinoLogger, 'info' | 'warn' | 'debug'>;
  const ws = { jobId: 'job-1', dir: '/w/worktrees/job-1', baseSha: BASE } as JobWorkspace;
  const warmup = new EnvironmentWarmup(
    { ENVIRONMENT_WARMUP: true, ...config } as AgentRunnerConfig,
    {
      openFresh: async (jobId, r, branch, baseSha) => {
        log.push(`openFresh ${jobId} ${r.name} ${branch} ${baseSha}`);
        return ws;
      },
    },
    {
      ensure: async (w, r, o: EnsureOptions) => {
        log.push(`ensure ${w.dir} ${r.name} ${o.jobId} ${JSON.stringify(o.limits)}`);
        o.progress?.('environment: the setup (npm ci)');
        return setup.promise;
      },
    },
    {
      run: async (w, _r, o) => {
        log.push(`baseline ${w.dir} ${o.jobId} aborted=${String(o.signal?.aborted)}`);
        return { passed: true } as BaselineResult;
      },
    },
    logger,
  );
  return { warmup, log, setup, warnings };
}

const ok: EnvironmentSummary = { action: 'setup', ok: true, durationMs: 5, cached: false, paths: ['node_modules/'], notes: [] };

describe('EnvironmentWarmup', () => {
  it("makes the job's worktree at the plan's base, runs the setup and the tests at the base, and settles when they are done", async () => {
    const r = rig();
    const said: string[] = [];
    r.warmup.start('job-1', cmd, BASE, new AbortController().signal, (m) => said.push(m));
    expect(r.warmup.activity('job-1')).toBe('environment: making the worktree');
    let settled = false;
    const settling = r.warmup.settle('job-1').then(() => (settled = true));
    await vi.waitFor(() => expect(r.log).toHaveLength(2));
    // The setup has not answered: the next step still waits, and can say what for; the plan step's heartbeats said it too.
    expect(settled).toBe(false);
    expect(r.warmup.activity('job-1')).toBe('environment: the setup (npm ci)');
    expect(said).toEqual(['environment: the setup (npm ci)']);
    r.setup.resolve(ok);
    await settling;
    expect(r.log).toEqual([
      `openFresh job-1 acme/lib agency/FR-7-add-a-thing ${BASE}`,
      'ensure /w/worktrees/job-1 acme/lib job-1 {"memoryMb":1024}',
      'baseline /w/worktrees/job-1 job-1 aborted=false',
    ]);
    // Nothing runs any more: settling again is immediate, and there is nothing to wait for.
    await r.warmup.settle('job-1');
    expect(r.warmup.activity('job-1')).toBeUndefined();
  });

  it('starts once per job while one runs, and not at all when ENVIRONMENT_WARMUP is false or the job is already cancelled', async () => {
    const r = rig();
    const signal = new AbortController().signal;
    r.warmup.start('job-1', cmd, BASE, signal);
    r.warmup.start('job-1', cmd, BASE, signal);
    r.setup.resolve(ok);
    await r.warmup.settle('job-1');
    expect(r.log.filter((l) => l.startsWith('openFresh'))).toHaveLength(1);

    const off = rig({ ENVIRONMENT_WARMUP: false });
    off.warmup.start('job-1', cmd, BASE, signal);
    await off.warmup.settle('job-1');
    expect(off.log).toEqual([]);

    const cancelled = rig();
    const aborted = new AbortController();
    aborted.abort(new Error('stop'));
    cancelled.warmup.start('job-1', cmd, BASE, aborted.signal);
    expect(cancelled.log).toEqual([]);
  });

  it('never throws: a failed setup skips the tests at the base, an error is logged, and the job settles', async () => {
    const failedSetup = rig();
    failedSetup.warmup.start('job-1', cmd, BASE, new AbortController().signal);
    failedSetup.setup.resolve({ ...ok, ok: false, exitCode: 1 });
    await failedSetup.warmup.settle('job-1');
    expect(failedSetup.log.some((l) => l.startsWith('baseline'))).toBe(false);

    const broken = rig();
    broken.warmup.start('job-1', cmd, BASE, new AbortController().signal);
    broken.setup.reject(new Error('docker went away'));
    await broken.warmup.settle('job-1');
    expect(broken.warnings).toEqual([expect.stringContaining('docker went away')]);
    // A later plan of the job (a re-driven step) may start it again.
    broken.warmup.start('job-1', cmd, BASE, new AbortController().signal);
    await vi.waitFor(() => expect(broken.log.filter((l) => l.startsWith('openFresh'))).toHaveLength(2));
  });

  it('runs no tests at the base once the job is cancelled during the setup', async () => {
    const r = rig();
    const cancel = new AbortController();
    r.warmup.start('job-1', cmd, BASE, cancel.signal);
    await vi.waitFor(() => expect(r.log).toHaveLength(2));
    cancel.abort(new Error('cancelled'));
    r.setup.resolve(ok);
    await r.warmup.settle('job-1');
    expect(r.log.some((l) => l.startsWith('baseline'))).toBe(false);
  });
});
