import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerRunner } from './container.runner.js';
import type { HiddenTestResult } from './report.js';
import { git } from './repo-source.js';
import type { LoadedTask } from './suite.loader.js';

/** The task's own setup failed at its base: the task is broken, not the agency. */
export class SetupFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SetupFailedError';
  }
}

/** A commit's files into an empty folder, without .git: nothing in the tree can reach a repository. */
export function exportTree(repo: string, ref: string, target: string): void {
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  const tar = `${target}.tar`;
  git(repo, 'archive', '--format=tar', '-o', tar, ref);
  try {
    execFileSync('tar', ['-xf', tar, '-C', target, '--no-same-owner'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } finally {
    rmSync(tar, { force: true });
  }
}

/**
 * The hidden tests of a task: its files copied over a tree (the PR branch's, or the base's) and
 * its command run in a container without network. Dependencies come from the task's setup, run
 * once at the base commit (the suite author's manifest, never the agent's), and are copied in.
 */
export class HiddenTests {
  private readonly deps = new Map<string, string>();

  constructor(
    private readonly containers: ContainerRunner,
    private readonly workDir: string,
    /** Installs kept across suite runs, by task, base commit, setup command and image. */
    private readonly cacheDir?: string,
  ) {}

  /** Runs the task's setup at the base (with the registry reachable); its node_modules serve every later run. */
  async installDeps(task: LoadedTask, baseRepo: string): Promise<void> {
    if (!task.spec.setup || this.deps.has(task.name)) return;
    const key = createHash('sha256')
      .update(JSON.stringify([git(baseRepo, 'rev-parse', 'main'), task.spec.setup, this.containers.image]))
      .digest('hex')
      .slice(0, 16);
    const dir = this.cacheDir ? join(this.cacheDir, 'deps', `${task.name}-${key}`) : join(this.workDir, 'deps', task.name);
    const done = `${dir}.installed`;
    if (!existsSync(done)) {
      exportTree(baseRepo, 'main', dir);
      const run = await this.containers.run({ dir, command: task.spec.setup, timeoutMs: 900_000, network: 'registry' });
      if (run.exitCode !== 0 || run.timedOut)
        throw new SetupFailedError(
          `${task.name}: setup "${task.spec.setup}" failed at the base (exit ${run.exitCode}${run.timedOut ? ', timed out' : ''}): ${run.output.slice(-1500)}`,
        );
      writeFileSync(done, `${new Date().toISOString()}\n`);
    }
    this.deps.set(task.name, dir);
  }

  /** The hidden tests on `ref` of `repo` (a bare forge repository or the base), optionally with a patch applied first. */
  async run(task: LoadedTask, repo: string, ref: string, label: string, patch?: string): Promise<HiddenTestResult> {
    const tree = join(this.workDir, 'trees', `${task.name}-${label}`);
    exportTree(repo, ref, tree);
    if (patch !== undefined) {
      const file = `${tree}.patch`;
      writeFileSync(file, patch);
      try {
        git(tree, 'apply', '--whitespace=nowarn', file);
      } finally {
        rmSync(file, { force: true });
      }
    }
    cpSync(task.hiddenDir, tree, { recursive: true, force: true });
    const deps = this.deps.get(task.name);
    if (deps && existsSync(join(deps, 'node_modules')))
      cpSync(join(deps, 'node_modules'), join(tree, 'node_modules'), { recursive: true, verbatimSymlinks: true });
    const run = await this.containers.run({ dir: tree, command: task.spec.hidden_tests.command, timeoutMs: task.spec.timeout_seconds * 1000, network: 'none' });
    rmSync(tree, { recursive: true, force: true });
    return {
      passed: run.exitCode === 0 && !run.timedOut,
      exitCode: run.exitCode,
      timedOut: run.timedOut,
      durationMs: run.durationMs,
      outputTail: run.output.slice(-2000),
    };
  }
}
