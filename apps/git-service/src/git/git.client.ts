import { Injectable } from '@nestjs/common';
import { simpleGit, type SimpleGit } from 'simple-git';
import { GitServiceConfig } from '../git-service.config.js';

/** Who the service's own commits (merge commits) are by. */
export const GIT_IDENTITY = { name: 'Agency', email: 'agency@localhost' } as const;

/**
 * Passed as `-c` to every git command, above any repository's own config. Repositories and
 * bundles come from agents that ran untrusted code, so nothing they could configure may execute:
 * no hooks, no fsmonitor, no ext:: transport. (A local push's receive-pack does not inherit these:
 * git clears config variables for local transports, so the local forge's own server-side hooks
 * run, as a forge's would; the medium tests prove the client side runs none.)
 */
export const SAFE_GIT_CONFIG: readonly string[] = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'protocol.ext.allow=never',
  `user.name=${GIT_IDENTITY.name}`,
  `user.email=${GIT_IDENTITY.email}`,
  'commit.gpgsign=false',
  'tag.gpgsign=false',
  'advice.detachedHead=false',
  'core.autocrlf=false',
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

// simple-git wraps whatever the errors hook returns into its own GitError, keeping only the
// message: the exit code travels inside it, in this marker.
const EXIT_MARKER = /^(?:Error: )?\[git exit (\d+)\] ?/;

function exitError(exitCode: number, output: string): Error {
  return new Error(`[git exit ${exitCode}] ${output.trim()}`);
}

/** What git may see of the process environment; everything else (GIT_DIR, GIT_AUTHOR_*, EDITOR, SSH_ASKPASS...) could redirect or run something. */
const PASSED_ENV = ['PATH', 'HOME', 'TMPDIR', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'SSL_CERT_FILE', 'SSL_CERT_DIR'];

function gitEnv(): Record<string, string> {
  const env: Record<string, string> = { GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
  for (const k of PASSED_ENV) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  return env;
}

/** Host git through simple-git, always with the safe configuration and a timeout. */
@Injectable()
export class GitClient {
  constructor(private readonly config: GitServiceConfig) {}

  private git(dir: string): SimpleGit {
    return simpleGit({
      baseDir: dir,
      config: [...SAFE_GIT_CONFIG],
      timeout: { block: this.config.GIT_TIMEOUT_MS },
      allowEnvironment: ['GIT_TERMINAL_PROMPT'],
      // Every non-zero exit is a failure, also a silent one (`merge-base --is-ancestor` answering no).
      errors: (error, result) => (result.exitCode > 0 ? exitError(result.exitCode, Buffer.concat([...result.stdErr, ...result.stdOut]).toString('utf8')) : error),
      // simple-git refuses these keys even when they switch code execution off; they are ours, not the repo's.
      unsafe: { allowUnsafeHooksPath: true, allowUnsafeFsMonitor: true, allowUnsafeProtocolOverride: true },
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

  /** Like run, but a failure is an answer (e.g. "not an ancestor", "no such ref"), not an error. */
  async attempt(dir: string, args: readonly string[]): Promise<{ ok: true; stdout: string } | { ok: false; error: GitCommandError }> {
    try {
      return { ok: true, stdout: await this.run(dir, args) };
    } catch (e) {
      if (e instanceof GitCommandError) return { ok: false, error: e };
      throw e;
    }
  }
}
