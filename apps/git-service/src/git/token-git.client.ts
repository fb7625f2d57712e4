import { execFile } from 'node:child_process';
import { Injectable } from '@nestjs/common';
import { GitCommandError, SAFE_GIT_CONFIG, gitEnv } from '@agency/git';
import { invalid } from '../forge/forge.errors.js';
import { GitServiceConfig } from '../git-service.config.js';

/** What MirrorService needs of a git command runner; SafeGit (GitClient) is one. */
export interface GitRunner {
  run(dir: string, args: readonly string[]): Promise<string>;
  attempt(dir: string, args: readonly string[]): Promise<{ ok: true; stdout: string } | { ok: false; error: GitCommandError }>;
}

const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** `Authorization: Basic base64(x-access-token:<token>)`, the form GitHub's git endpoint takes for every token kind. */
export function basicAuthHeader(token: string): string {
  return `Authorization: Basic ${Buffer.from(`x-access-token:${token}`, 'utf8').toString('base64')}`;
}

/** The URL prefix git's `http.<url>.extraHeader` is scoped to: the remote's scheme, host and port only. */
export function headerScope(remoteUrl: string): string {
  let url: URL;
  try {
    url = new URL(remoteUrl);
  } catch {
    throw invalid('CLONE_URL_NOT_HTTP', `remote URL "${remoteUrl}" is not an absolute http(s) URL; a GitHub repository is pushed to over HTTPS`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid('CLONE_URL_NOT_HTTP', `remote URL "${remoteUrl}" is not http(s); a token is only ever sent over HTTP(S)`);
  return `${url.protocol}//${url.host}/`;
}

/**
 * Host git with a forge token for one remote. The token reaches git as an Authorization header
 * through git's environment configuration (GIT_CONFIG_COUNT/KEY/VALUE, scoped with
 * `http.<scheme>://<host>/.extraHeader` so it is sent to that host only): never as an argument,
 * never in a URL, never in a file. Credential helpers are switched off so no helper stores it.
 * Any output that could echo it is scrubbed before it becomes an error message.
 */
@Injectable()
export class TokenGitClient {
  constructor(private readonly config: GitServiceConfig) {}

  /** A runner whose commands authenticate to `remoteUrl`'s host; without a token, a plain safe runner. */
  forRemote(remoteUrl: string, token = this.config.GITHUB_TOKEN): GitRunner {
    const extra: Record<string, string> = token
      ? { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: `http.${headerScope(remoteUrl)}.extraHeader`, GIT_CONFIG_VALUE_0: basicAuthHeader(token) }
      : {};
    const secrets = token ? [token, basicAuthHeader(token).slice('Authorization: Basic '.length)] : [];
    const run = (dir: string, args: readonly string[]) => this.exec(dir, args, extra, secrets);
    return {
      run,
      attempt: async (dir, args) => {
        try {
          return { ok: true, stdout: await run(dir, args) };
        } catch (e) {
          if (e instanceof GitCommandError) return { ok: false, error: e };
          throw e;
        }
      },
    };
  }

  private exec(dir: string, args: readonly string[], extra: Record<string, string>, secrets: readonly string[]): Promise<string> {
    const scrub = (text: string) => secrets.reduce((t, s) => t.split(s).join('***'), text);
    const config = [...SAFE_GIT_CONFIG, 'credential.helper=', 'http.followRedirects=false'].flatMap((c) => ['-c', c]);
    return new Promise((resolve, reject) => {
      execFile(
        'git',
        [...config, ...args],
        { cwd: dir, env: { ...gitEnv(), ...extra }, timeout: this.config.GIT_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8' },
        (error, stdout, stderr) => {
          if (!error) return resolve(stdout);
          const e = error as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
          if (e.killed) return reject(new GitCommandError(args, `killed after ${this.config.GIT_TIMEOUT_MS} ms (GIT_TIMEOUT_MS)`));
          const detail = scrub(`${stderr}${stdout}`.trim() || e.message);
          reject(new GitCommandError(args, detail, typeof e.code === 'number' ? e.code : undefined));
        },
      );
    });
  }
}
