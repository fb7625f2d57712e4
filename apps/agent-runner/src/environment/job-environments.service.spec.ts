import { rmSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RepoTargetDto } from '@agency/contracts';
import { createLogger } from '@agency/telemetry';
import { tempDir, type TempDir } from '@agency/testing';
import type { AgentRunnerConfig } from '../agent-runner.config.js';
import type { GitClient } from '../git/git.client.js';
import { KeyedMutex } from '../git/keyed-mutex.js';
import type { JobWorkspace } from '../git/workspace.service.js';
import type { SandboxExecOptions, SandboxOpenOptions, SandboxResult } from '../sandbox/sandbox.js';
import type { SandboxImages } from '../sandbox/sandbox-images.js';
import type { WorktreeOwner } from '../sandbox/worktree-owner.js';
import { EnvironmentCache } from './environment-cache.js';
import { JobEnvironments } from './job-environments.service.js';

const BASE = 'b'.repeat(40);
const LOCK_TREE = `100644 blob ${'1'.repeat(40)}\tpackage-lock.json\x00100644 blob ${'2'.repeat(40)}\tsrc/index.js\0`;

/** git as the service asks it: HEAD, the commit's tree, and the untracked paths after a setup. */
class FakeGit {
  head = BASE;
  untracked = 'node_modules/\0';
  async runInTree(_t: unknown, args: readonly string[]): Promise<string> {
    if (args[0] === 'rev-parse') return `${this.head}\n`;
    if (args[0] === 'ls-files') return this.untracked;
    throw new Error(`unexpected git ${args.join(' ')}`);
  }
  async run(_dir: string, args: readonly string[]): Promise<string> {
    if (args[0] === 'ls-tree') return LOCK_TREE;
    throw new Error(`unexpected git ${args.join(' ')}`);
  }
}

class FakeSandbox {
  readonly kind = 'process' as const;
  opened: SandboxOpenOptions[] = [];
  commands: string[] = [];
  results: Array<Partial<SandboxResult>> = [];
  async open(options: SandboxOpenOptions) {
    this.opened.push(options);
    return {
      jobId: options.jobId,
      workdir: options.workspace,
      exec: async (exec: SandboxExecOptions): Promise<SandboxResult> => {
        this.commands.push(exec.command);
        // What an install leaves in the worktree (the process backend's workdir is the worktree itself).
        if (exec.command === 'npm ci') mkdirSync(join(options.workspace, 'node_modules', 'dep'), { recursive: true });
        return { exitCode: 0, timedOut: false, durationMs: 1500, output: 'added 1 package\n', outputBytes: 16, truncated: false, ...this.results.shift() };
      },
      close: async () => undefined,
    };
  }
}

describe('JobEnvironments', () => {
  let dir: TempDir;
  let git: FakeGit;
  let sandbox: FakeSandbox;
  let environments: JobEnvironments;
  let ws: JobWorkspace;
  const repo: RepoTargetDto = { name: 'acme/app', cloneUrl: '/forge/app.git', base: 'main', forge: 'local', setupCommand: 'npm ci', testCommand: 'npm test' };

  beforeEach(() => {
    dir = tempDir('job-env-');
    ws = {
      jobId: 'job-1',
      dir: join(dir.path, 'wt'),
      branch: 'agency/FR-1-x',
      baseSha: BASE,
      mirrorDir: join(dir.path, 'mirror.git'),
      gitDir: join(dir.path, 'mirror.git', 'worktrees', 'wt'),
    };
    for (const d of [ws.dir, ws.gitDir]) mkdirSync(d, { recursive: true });
    git = new FakeGit();
    sandbox = new FakeSandbox();
    const config = { WORK_DIR: dir.path, SETUP_TIMEOUT_SECONDS: 600, ENV_CACHE_MAX_MB: 100 } as AgentRunnerConfig;
    const images = { setupNetworkFor: () => 'registries', registriesFor: () => undefined, imageFor: () => 'agency/sandbox:latest' } as unknown as SandboxImages;
    const owners = { prepare: () => ({ uid: 1000, gid: 1000 }) } as unknown as WorktreeOwner;
    environments = new JobEnvironments(
      config,
      git as unknown as GitClient,
      new KeyedMutex(),
      sandbox,
      images,
      new EnvironmentCache(config),
      owners,
      createLogger({ service: 'test', level: 'silent' }),
    );
  });

  afterEach(() => dir.remove());

  it('does nothing for a repository without a setup', async () => {
    expect(await environments.ensure(ws, { ...repo, setupCommand: undefined }, { jobId: 'job-1' })).toMatchObject({ action: 'none', ok: true });
    expect(sandbox.opened).toEqual([]);
  });

  it('runs the setup once in an environment session, excludes what it created, and finds it present the next time', async () => {
    const first = await environments.ensure(ws, repo, { jobId: 'job-1' });
    expect(first).toMatchObject({ action: 'setup', ok: true, exitCode: 0, setupMs: 1500, cached: false, paths: ['node_modules/'], setupCommand: 'npm ci' });
    expect(sandbox.opened).toEqual([expect.objectContaining({ workspace: ws.dir, jobId: 'job-1', phase: 'environment', network: 'none' })]);
    expect(sandbox.commands).toEqual(['npm ci']);
    expect(readFileSync(join(ws.mirrorDir, 'info', 'exclude'), 'utf8')).toContain('\n/node_modules/\n');
    // The process backend has no cache: said, not hidden.
    expect(first.notes).toEqual(['no cache entry made: the cache needs the Docker sandbox and ENV_CACHE_MAX_MB > 0']);

    const second = await environments.ensure(ws, repo, { jobId: 'job-1' });
    expect(second).toMatchObject({ action: 'present', ok: true, setupMs: 1500 });
    expect(sandbox.commands).toEqual(['npm ci']);
    expect(environments.describe('job-1')).toEqual(second);
  });

  it("installs again when an agent's command removed what setup installed (npm ci in the sandbox deletes node_modules, then finds no network)", async () => {
    await environments.ensure(ws, repo, { jobId: 'job-1' });
    rmSync(join(ws.dir, 'node_modules'), { recursive: true });
    expect(await environments.ensure(ws, repo, { jobId: 'job-1' })).toMatchObject({ action: 'setup', ok: true });
    mkdirSync(join(ws.dir, 'node_modules'), { recursive: true });
    rmSync(join(ws.dir, 'node_modules', 'dep'), { recursive: true });
    expect(await environments.ensure(ws, repo, { jobId: 'job-1' })).toMatchObject({ action: 'setup', ok: true });
    expect(sandbox.commands).toEqual(['npm ci', 'npm ci', 'npm ci']);
  });

  it('installs again when the committed lock files change', async () => {
    await environments.ensure(ws, repo, { jobId: 'job-1' });
    git.head = 'c'.repeat(40);
    const tree = LOCK_TREE.replace('1'.repeat(40), '3'.repeat(40));
    git.run = async () => tree;
    expect(await environments.ensure(ws, repo, { jobId: 'job-1' })).toMatchObject({ action: 'setup', ok: true });
    expect(sandbox.commands).toEqual(['npm ci', 'npm ci']);
  });

  it('fails the step when the setup fails at the base, with the code and the output', async () => {
    sandbox.results = [{ exitCode: 1, output: 'npm ERR! missing script\n' }];
    await expect(environments.ensure(ws, repo, { jobId: 'job-1' })).rejects.toMatchObject({
      code: 'ENV_SETUP_FAILED',
      retryable: false,
      message: expect.stringContaining('npm ERR! missing script'),
    });
  });

  it("returns a setup that failed on an agent's change for the agent to see, and retries a network hiccup", async () => {
    git.head = 'c'.repeat(40);
    sandbox.results = [{ exitCode: 1, output: 'npm ERR! 404 Not Found - left-padd\n' }];
    expect(await environments.ensure(ws, repo, { jobId: 'job-1' })).toMatchObject({
      action: 'setup',
      ok: false,
      exitCode: 1,
      outputTail: 'npm ERR! 404 Not Found - left-padd\n',
    });
    sandbox.results = [{ exitCode: 1, output: 'npm ERR! code ECONNRESET\n' }];
    await expect(environments.ensure(ws, repo, { jobId: 'job-1' })).rejects.toMatchObject({ code: 'ENV_SETUP_FAILED', retryable: true });
    sandbox.results = [{ exitCode: 143, timedOut: true, output: 'fetching...\n' }];
    await expect(environments.ensure(ws, repo, { jobId: 'job-1' })).rejects.toMatchObject({ code: 'ENV_SETUP_TIMEOUT', retryable: true });
  });
});
