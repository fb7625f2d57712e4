import { spawn } from 'node:child_process';
import { simpleGit, type SimpleGit } from 'simple-git';

/** Who the agency's commits (the agents' and merge commits) are by. */
export const GIT_IDENTITY = { name: 'Agency', email: 'agency@localhost' } as const;

/**
 * Passed as `-c` to every git command, above any repository's own config. Worktrees hold code a
 * model wrote and repositories come from anywhere, so nothing they could configure may execute
 * on the host: no hooks, no fsmonitor, no ext:: transport, no signing program; and the committer
 * is always the agency. (A local push's receive-pack does not inherit these: git clears config
 * for local transports, so a local forge's own server-side hooks run, as a real forge's would.)
 * No attributes or ignore rules from the user's files (core.attributesFile and core.excludesFile
 * default to ~/.config/git/...: the empty global config of gitEnv does not cover them), so the
 * only attributes git reads are the repository's own and its info/attributes, which no sandbox
 * can reach.
 */
export const SAFE_GIT_CONFIG: readonly string[] = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'core.attributesFile=/dev/null',
  'core.excludesFile=/dev/null',
  'protocol.ext.allow=never',
  `user.name=${GIT_IDENTITY.name}`,
  `user.email=${GIT_IDENTITY.email}`,
  'commit.gpgsign=false',
  'tag.gpgsign=false',
  'advice.detachedHead=false',
  'core.autocrlf=false',
  'gc.auto=0',
];

/** A failed git command; the message never carries credentials from a URL. */
export class GitCommandError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly detail: string,
    /** git's exit code when it ran and failed; undefined when it could not run or timed out. */
    readonly exitCode?: number,
  ) {
    super(`git ${redactCredentials(args.join(' '))} failed: ${redactCredentials(detail).trim()}`);
    this.name = 'GitCommandError';
  }
}

/** `https://user:token@host` -> `https://***@host`, wherever it appears. */
export function redactCredentials(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
}

/**
 * Variables git may see. An allowlist: git's own variables (GIT_DIR, GIT_WORK_TREE, GIT_AUTHOR_*)
 * could redirect a command, and simple-git refuses others outright (EDITOR, which npm sets, PAGER).
 */
const GIT_ENV_ALLOWED = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'TZ',
  'TMPDIR',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'GIT_SSL_CAINFO',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
] as const;

/**
 * The environment of every host git: the allowlist above, no prompt, and no system or global
 * configuration (GIT_CONFIG_NOSYSTEM, GIT_CONFIG_GLOBAL=/dev/null): a filter, textconv, include
 * or credential helper set in /etc/gitconfig or ~/.gitconfig (which a process running as the
 * runner's user could write) never reaches git. The repository's own config and SAFE_GIT_CONFIG
 * are all it reads.
 */
export function gitEnv(from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of GIT_ENV_ALLOWED) {
    const v = from[k];
    if (v !== undefined) env[k] = v;
  }
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_CONFIG_NOSYSTEM = '1';
  env.GIT_CONFIG_GLOBAL = '/dev/null';
  env.LC_ALL = 'C';
  return env;
}

/** The git variables gitEnv sets, which simple-git's environment guard must be told to let through. */
export const GIT_ENV_ALLOWED_BY_SIMPLE_GIT: readonly string[] = ['GIT_TERMINAL_PROMPT', 'GIT_SSL_CAINFO', 'GIT_CONFIG_NOSYSTEM', 'GIT_CONFIG_GLOBAL'];

/**
 * simple-git rethrows whatever the `errors` option returns as its own GitError, keeping only the
 * message: the exit code travels in a marker at its start and is read back in run().
 */
const EXIT_MARKER = /^(?:Error: )?\[git exit (\d+)\] ?/;

/** Host git through simple-git, always with the safe configuration and an inactivity timeout. */
export class SafeGit {
  constructor(private readonly timeoutMs: number) {}

  private git(dir: string): SimpleGit {
    return simpleGit({
      baseDir: dir,
      config: [...SAFE_GIT_CONFIG],
      timeout: { block: this.timeoutMs },
      allowEnvironment: [...GIT_ENV_ALLOWED_BY_SIMPLE_GIT],
      // Every non-zero exit is a failure, also a silent one (`diff --quiet`, `merge-base --is-ancestor`).
      errors: (error, result) =>
        result.exitCode > 0
          ? new Error(
              `[git exit ${result.exitCode}] ${Buffer.concat([...result.stdErr, ...result.stdOut])
                .toString('utf8')
                .trim()}`,
            )
          : error,
      // simple-git refuses these keys (and GIT_CONFIG_GLOBAL) even when they switch code execution off; they are ours, not the repository's.
      unsafe: { allowUnsafeConfigPaths: true, allowUnsafeHooksPath: true, allowUnsafeFsMonitor: true, allowUnsafeProtocolOverride: true },
    }).env(gitEnv());
  }

  /** Runs `git <args>` in `dir` and returns its standard output. */
  async run(dir: string, args: readonly string[]): Promise<string> {
    try {
      return await this.git(dir).raw([...args]);
    } catch (e) {
      const message = (e as Error).message;
      const exit = EXIT_MARKER.exec(message);
      throw new GitCommandError(args, exit ? message.slice(exit[0].length) || `exit code ${exit[1]}` : message, exit ? Number(exit[1]) : undefined);
    }
  }

  /** Like run, but a failure is an answer ("no such ref", "not an ancestor"), not an error. */
  async attempt(dir: string, args: readonly string[]): Promise<{ ok: true; stdout: string } | { ok: false; error: GitCommandError }> {
    try {
      return { ok: true, stdout: await this.run(dir, args) };
    } catch (e) {
      if (e instanceof GitCommandError) return { ok: false, error: e };
      throw e;
    }
  }

  /**
   * Runs `git <args>` in `dir` keeping at most `maxBytes` of its standard output: past that git
   * is stopped and `truncated` says so. For output whose size the repository decides (a diff of
   * an agent's huge file), which must not all land in the caller's memory.
   */
  runCapped(dir: string, args: readonly string[], maxBytes: number): Promise<{ stdout: string; truncated: boolean }> {
    return new Promise((resolve, reject) => {
      const child = spawn('git', [...SAFE_GIT_CONFIG.flatMap((c) => ['-c', c]), ...args], { cwd: dir, env: gitEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      const chunks: Buffer[] = [];
      let kept = 0;
      let truncated = false;
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), this.timeoutMs);
      child.stdout.on('data', (chunk: Buffer) => {
        if (truncated) return;
        const room = maxBytes - kept;
        chunks.push(chunk.subarray(0, room));
        kept += Math.min(room, chunk.length);
        if (chunk.length > room) {
          truncated = true;
          child.kill('SIGKILL');
        }
      });
      child.stderr.on('data', (chunk: Buffer) => {
        if (stderr.length < 10_000) stderr += chunk.toString('utf8');
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new GitCommandError(args, e.message));
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        if (!truncated && code !== 0) return reject(new GitCommandError(args, stderr.trim() || `exit code ${code}`, code ?? undefined));
        resolve({ stdout: Buffer.concat(chunks).toString('utf8'), truncated });
      });
    });
  }
}
