import { execFile } from 'node:child_process';
import { SpanKind, withSpan } from '@agency/telemetry';
import { GitCommandError, SAFE_GIT_CONFIG, gitEnv } from './safe-git.js';

/** What code that fetches, clones or pushes needs of a git runner; SafeGit is one, HeaderGit another. */
export interface GitRunner {
  run(dir: string, args: readonly string[]): Promise<string>;
  attempt(dir: string, args: readonly string[]): Promise<{ ok: true; stdout: string } | { ok: false; error: GitCommandError }>;
}

/**
 * A runner whose commands are CLIENT spans `git <command>` (git fetch, git clone, git push,
 * git ls-remote): the network side of git in a trace, with the remote's host, never a credential.
 */
export function tracedGit(runner: GitRunner, remoteUrl: string): GitRunner {
  const host = httpScopeOf(remoteUrl) ? new URL(remoteUrl).host : 'local';
  const span = <T>(args: readonly string[], fn: () => Promise<T>) =>
    withSpan(
      `git ${args[0] ?? ''}`.trim(),
      { kind: SpanKind.CLIENT, attributes: { 'process.executable.name': 'git', 'agency.git.command': args[0] ?? '', 'server.address': host } },
      fn,
    );
  return {
    run: (dir, args) => span(args, () => runner.run(dir, args)),
    attempt: (dir, args) =>
      span(args, async () => {
        const r = await runner.attempt(dir, args);
        if (!r.ok) throw r.error;
        return r;
      }).catch((e: unknown) => {
        if (e instanceof GitCommandError) return { ok: false as const, error: e };
        throw e;
      }),
  };
}

/** The URL prefix git's `http.<url>.extraHeader` is scoped to: the remote's scheme, host and port, never its path or credentials. Undefined when the remote is not http(s). */
export function httpScopeOf(remoteUrl: string): string | undefined {
  let url: URL;
  try {
    url = new URL(remoteUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  return `${url.protocol}//${url.host}/`;
}

const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/**
 * Host git that sends one HTTP header (a credential) to one remote host. The header reaches git
 * through its environment configuration (GIT_CONFIG_COUNT/KEY_0/VALUE_0 =
 * `http.<scheme>://<host>/.extraHeader`): never an argument (which `ps` shows), never a URL,
 * never a file (a repository's config is readable by whatever later reads the repository).
 * Credential helpers and redirects are off, so the header goes nowhere else and nothing stores
 * it; `secrets` are scrubbed from any output before it becomes an error message.
 */
export class HeaderGit implements GitRunner {
  private readonly env: Record<string, string>;

  constructor(
    scope: string,
    header: string,
    private readonly secrets: readonly string[],
    private readonly timeoutMs: number,
  ) {
    this.env = { ...gitEnv(), GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: `http.${scope}.extraHeader`, GIT_CONFIG_VALUE_0: header };
  }

  run(dir: string, args: readonly string[]): Promise<string> {
    const scrub = (text: string) => this.secrets.reduce((t, s) => (s ? t.split(s).join('***') : t), text);
    const config = [...SAFE_GIT_CONFIG, 'credential.helper=', 'http.followRedirects=false'].flatMap((c) => ['-c', c]);
    return new Promise((resolve, reject) => {
      execFile(
        'git',
        [...config, ...args],
        { cwd: dir, env: this.env, timeout: this.timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8' },
        (error, stdout, stderr) => {
          if (!error) return resolve(stdout);
          const e = error as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
          if (e.killed) return reject(new GitCommandError(args, `killed after ${this.timeoutMs} ms`));
          reject(new GitCommandError(args, scrub(`${stderr}${stdout}`.trim() || e.message), typeof e.code === 'number' ? e.code : undefined));
        },
      );
    });
  }

  async attempt(dir: string, args: readonly string[]): Promise<{ ok: true; stdout: string } | { ok: false; error: GitCommandError }> {
    try {
      return { ok: true, stdout: await this.run(dir, args) };
    } catch (e) {
      if (e instanceof GitCommandError) return { ok: false, error: e };
      throw e;
    }
  }
}
