import { Injectable, Optional } from '@nestjs/common';
import { simpleGit, type SimpleGit } from 'simple-git';
import { GIT_ENV_ALLOWED_BY_SIMPLE_GIT, GitCommandError, gitEnv, redactCredentials, SAFE_GIT_CONFIG, SafeGit } from '@agency/git';
import { AgentRunnerConfig } from '../agent-runner.config.js';
import { WorktreeRoots } from '../files/worktree-roots.js';
import { JobRecordRepository } from './job-record.repository.js';

export { GIT_IDENTITY, GitCommandError, SAFE_GIT_CONFIG, gitEnv, redactCredentials } from '@agency/git';

/** A job's worktree as git must be told about it: its files and its git directory inside the mirror. */
export interface GitTree {
  dir: string;
  gitDir: string;
}

const EXIT_MARKER = /^(?:Error: )?\[git exit (\d+)\] ?/;

/**
 * Host git for the runner: the shared safe configuration, the runner's own timeout. Commands in
 * a job's worktree go through runInTree: a sandboxed command may have rewritten the worktree's
 * `.git` file to point at a repository (and config) of its own making, so git is never left to
 * discover the repository there; it gets `--git-dir` and `--work-tree` explicitly. And the work
 * tree it gets is the job's own directory, found through WorktreeRoots (never by following the
 * worktree's path, which during a session leads into the sandbox's slot): a command that
 * swapped /workspace/repo for a link makes every git command in the tree fail with
 * WorkspaceTamperedError instead of running elsewhere.
 */
@Injectable()
export class GitClient extends SafeGit {
  private readonly treeTimeoutMs: number;
  private readonly roots: WorktreeRoots;

  constructor(config: AgentRunnerConfig, @Optional() roots?: WorktreeRoots) {
    super(config.GIT_TIMEOUT_SECONDS * 1000);
    this.treeTimeoutMs = config.GIT_TIMEOUT_SECONDS * 1000;
    this.roots = roots ?? new WorktreeRoots(config, new JobRecordRepository(config));
  }

  private treeGit(dir: string): SimpleGit {
    return simpleGit({
      baseDir: dir,
      config: [...SAFE_GIT_CONFIG],
      timeout: { block: this.treeTimeoutMs },
      allowEnvironment: [...GIT_ENV_ALLOWED_BY_SIMPLE_GIT],
      errors: (error, result) =>
        result.exitCode > 0
          ? new Error(
              `[git exit ${result.exitCode}] ${Buffer.concat([...result.stdErr, ...result.stdOut])
                .toString('utf8')
                .trim()}`,
            )
          : error,
      // --git-dir and --work-tree are ours (from the job record), not the repository's; the rest as in SafeGit.
      unsafe: { allowUnsafeConfigPaths: true, allowUnsafeHooksPath: true, allowUnsafeFsMonitor: true, allowUnsafeProtocolOverride: true },
    }).env(gitEnv());
  }

  /** `git --git-dir=<gitDir> --work-tree=<the job's directory> <args>` in the worktree; returns standard output. */
  async runInTree(tree: GitTree, args: readonly string[]): Promise<string> {
    const opened = this.roots.open(tree.dir);
    // git needs a path: the checked one, where the directory is now. Nothing runs in the sandbox while host git works.
    const workTree = opened.path;
    opened.close();
    const full = [`--git-dir=${tree.gitDir}`, `--work-tree=${workTree}`, ...args];
    try {
      return await this.treeGit(workTree).raw(full);
    } catch (e) {
      const message = (e as Error).message;
      const exit = EXIT_MARKER.exec(message);
      throw new GitCommandError(
        args,
        exit ? message.slice(exit[0].length) || `exit code ${exit[1]}` : redactCredentials(message),
        exit ? Number(exit[1]) : undefined,
      );
    }
  }

  /** Like runInTree, but a failure is an answer, not an error. */
  async attemptInTree(tree: GitTree, args: readonly string[]): Promise<{ ok: true; stdout: string } | { ok: false; error: GitCommandError }> {
    try {
      return { ok: true, stdout: await this.runInTree(tree, args) };
    } catch (e) {
      if (e instanceof GitCommandError) return { ok: false, error: e };
      throw e;
    }
  }
}
