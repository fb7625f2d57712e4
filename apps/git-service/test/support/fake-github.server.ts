import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, verify, type KeyObject } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import {
  errorBody,
  renderCheckRuns,
  renderComment,
  renderCombinedStatus,
  renderLabel,
  renderPull,
  renderReview,
  type FakeChecks,
  type FakePull,
  type FakeReview,
  type RenderContext,
} from './fake-github.render.js';
import { serveGitHttp } from './git-http-backend.js';
import { GitHubOpenApi, type MatchedOperation } from './github-openapi.js';

type Json = Record<string, unknown>;
interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  text?: string;
}

export interface RecordedRequest {
  method: string;
  /** The full request target, query included: what a log or proxy would see. */
  url: string;
  operationId?: string;
  status: number;
}

/** Lists GitHub answers with an ETag, and 304 to a request whose If-None-Match matches it. */
const CONDITIONAL_OPS = new Set(['pulls/list', 'pulls/list-reviews']);

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'core.hooksPath=/dev/null', '-c', 'user.name=GitHub', '-c', 'user.email=noreply@github.test', ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LC_ALL: 'C' },
  }).trim();
}

function tryGit(cwd: string, ...args: string[]): { ok: boolean; out: string } {
  try {
    return { ok: true, out: git(cwd, ...args) };
  } catch {
    return { ok: false, out: '' };
  }
}

/**
 * A stand-in for github.com and its API on a local port: REST under /api/v3 (every request is
 * matched to an operation of GitHub's OpenAPI description and validated against it, and every
 * JSON answer is validated against the operation's response schema), GraphQL at /api/graphql,
 * and git's smart HTTP for <owner>/<name>.git served by the real `git http-backend`. All of them
 * require the token, as a private repository would. Departures from the description are
 * collected in `violations`; tests assert there are none.
 */
export class FakeGitHub {
  readonly spec = GitHubOpenApi.load();
  readonly requests: RecordedRequest[] = [];
  readonly violations: string[] = [];
  /** Successful pushes (git-receive-pack POSTs), per repository. */
  readonly pushes: string[] = [];
  readonly graphqlCalls: Array<{ query: string; variables: Json }> = [];
  readonly pulls: FakePull[] = [];
  readonly checks = new Map<string, FakeChecks>();
  /** Answers given instead of the next REST requests, in order (rate limits). */
  private readonly limits: Answer[] = [];
  /** PR numbers the list endpoint leaves out once (GitHub's listings may lag behind a create). */
  readonly hiddenFromNextList = new Set<number>();
  /** A GitHub App installed on the account: set by enableApp. */
  private app?: { appId: string; publicKey: KeyObject; installationId: number; ttlMs: number };
  /** Installation tokens handed out, with when each expires (ms). */
  readonly installationTokens = new Map<string, number>();
  /** How far this GitHub's clock is ahead of the machine's (tests of token lifetimes move it). */
  shiftMs = 0;
  private server?: Server;
  private nextId = 1000;
  web = '';

  private constructor(
    readonly root: string,
    readonly token: string,
  ) {}

  static async start(root: string, token: string): Promise<FakeGitHub> {
    const gh = new FakeGitHub(root, token);
    gh.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        gh.handle(req, Buffer.concat(chunks), res).catch((e: unknown) => {
          gh.violations.push(`fake failed on ${req.method} ${req.url}: ${(e as Error).stack}`);
          if (!res.headersSent) res.writeHead(500).end();
        });
      });
    });
    await new Promise<void>((r) => gh.server!.listen(0, '127.0.0.1', r));
    gh.web = `http://127.0.0.1:${(gh.server.address() as AddressInfo).port}`;
    return gh;
  }

  get apiUrl(): string {
    return `${this.web}/api/v3`;
  }

  gitUrl(repo: string): string {
    return `${this.web}/${repo}.git`;
  }

  bare(repo: string): string {
    return join(this.root, `${repo}.git`);
  }

  /** A private repository whose main branch holds one commit of `files`. */
  createRepo(repo: string, files: Record<string, string>): string {
    const bare = this.bare(repo);
    mkdirSync(dirname(bare), { recursive: true });
    git(this.root, 'init', '-q', '--bare', '-b', 'main', bare);
    const seed = `${bare}.seed`;
    git(this.root, 'init', '-q', '-b', 'main', seed);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(seed, path)), { recursive: true });
      writeFileSync(join(seed, path), text);
    }
    git(seed, 'add', '-A');
    git(seed, 'commit', '-q', '-m', 'Initial commit');
    git(seed, 'push', '-q', bare, 'main:refs/heads/main');
    rmSync(seed, { recursive: true, force: true });
    git(bare, 'config', 'core.logAllRefUpdates', 'true');
    return this.sha(repo, 'main');
  }

  sha(repo: string, branch: string): string {
    return tryGit(this.bare(repo), 'rev-parse', '--verify', '-q', `refs/heads/${branch}`).out;
  }

  /** The next `count` REST requests are refused like GitHub's rate limiter does. */
  limitNext(kind: 'primary' | 'secondary' | 'too-many', count = 1, waitSeconds = 2): void {
    for (let i = 0; i < count; i += 1) {
      if (kind === 'primary') {
        const reset = String(Math.floor(Date.now() / 1000) + waitSeconds);
        this.limits.push({
          status: 403,
          headers: {
            'x-ratelimit-limit': '5000',
            'x-ratelimit-remaining': '0',
            'x-ratelimit-used': '5000',
            'x-ratelimit-reset': reset,
            'x-ratelimit-resource': 'core',
          },
          body: errorBody('API rate limit exceeded for user ID 1.'),
        });
      } else if (kind === 'secondary') {
        this.limits.push({
          status: 403,
          headers: { 'retry-after': String(waitSeconds) },
          body: errorBody('You have exceeded a secondary rate limit. Please wait a few minutes before you try again.'),
        });
      } else {
        this.limits.push({ status: 429, headers: { 'retry-after': String(waitSeconds) }, body: errorBody('Too Many Requests') });
      }
    }
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** A person reviews PR #number on GitHub (the PR's updated_at moves, as GitHub's does). */
  addReview(repo: string, number: number, review: Omit<FakeReview, 'id' | 'submitted_at'>): FakeReview {
    const pull = this.pullOf(repo, number);
    if (!pull) throw new Error(`no PR #${number} in ${repo}`);
    const now = new Date().toISOString();
    const made: FakeReview = { ...review, id: (this.nextId += 1), submitted_at: now };
    (pull.reviews ??= []).push(made);
    pull.updated_at = now;
    return made;
  }

  /** Installs a GitHub App: its JWTs (checked with `publicKey`) buy installation tokens that live `ttlMs` and work like the token. */
  enableApp(app: { appId: string; publicKey: KeyObject; installationId: number; ttlMs?: number }): void {
    this.app = { ttlMs: 3_600_000, ...app };
  }

  /** Every installation token handed out so far stops working, as an hour passing would do. */
  expireInstallationTokens(): void {
    for (const token of this.installationTokens.keys()) this.installationTokens.set(token, 0);
  }

  /** The tokens that work now: the token, and installation tokens not expired. */
  private validToken(token: string): boolean {
    if (token === this.token) return true;
    const expires = this.installationTokens.get(token);
    return expires !== undefined && expires > Date.now() + this.shiftMs;
  }

  private authorized(req: IncomingMessage, scheme: 'api' | 'git'): boolean {
    const auth = req.headers.authorization ?? '';
    if (scheme === 'git') {
      const basic = /^Basic (.+)$/.exec(auth);
      const decoded = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8') : '';
      return decoded.startsWith('x-access-token:') && this.validToken(decoded.slice('x-access-token:'.length));
    }
    const m = /^(?:token|bearer|Bearer) (\S+)$/.exec(auth);
    return !!m && this.validToken(m[1]!);
  }

  /** A JWT as GitHub checks an app's: RS256 by the app's key, `iss` the app id, issued in the past, expiring within ten minutes. */
  private appJwtProblem(req: IncomingMessage): string | undefined {
    if (!this.app) return 'no app is installed';
    const m = /^[Bb]earer (([\w-]+)\.([\w-]+))\.([\w-]+)$/.exec(req.headers.authorization ?? '');
    if (!m) return 'not a bearer JWT';
    const header = JSON.parse(Buffer.from(m[2]!, 'base64url').toString('utf8')) as { alg?: string };
    const claims = JSON.parse(Buffer.from(m[3]!, 'base64url').toString('utf8')) as { iat?: number; exp?: number; iss?: unknown };
    if (header.alg !== 'RS256') return `alg ${header.alg}`;
    if (!verify('sha256', Buffer.from(m[1]!), this.app.publicKey, Buffer.from(m[4]!, 'base64url'))) return 'bad signature';
    const now = Math.floor((Date.now() + this.shiftMs) / 1000);
    if (String(claims.iss) !== this.app.appId) return `iss ${String(claims.iss)}`;
    if (!claims.iat || !claims.exp || claims.iat > now + 60 || claims.exp <= now || claims.exp - claims.iat > 600) return `iat ${claims.iat} exp ${claims.exp}`;
    return undefined;
  }

  private installationToken(op: MatchedOperation, req: IncomingMessage): Answer {
    const problem = this.appJwtProblem(req);
    if (problem) return { status: 401, body: errorBody(`A JSON web token could not be decoded (${problem})`) };
    if (Number(op.pathParams.installation_id) !== this.app!.installationId) return { status: 404, body: errorBody('Not Found') };
    const token = `ghs_${randomBytes(18).toString('hex')}`;
    const expires = Date.now() + this.shiftMs + this.app!.ttlMs;
    this.installationTokens.set(token, expires);
    return {
      status: 201,
      body: {
        token,
        expires_at: new Date(expires).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        permissions: { contents: 'write', pull_requests: 'write', checks: 'read', statuses: 'read' },
        repository_selection: 'all',
      },
    };
  }

  private async handle(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.web);
    const method = req.method ?? 'GET';
    const record = (status: number, operationId?: string) =>
      this.requests.push({ method, url: req.url ?? '', status, ...(operationId ? { operationId } : {}) });
    const git = /^\/([^/]+\/[^/]+\.git)(\/.*)$/.exec(url.pathname);
    if (git) {
      if (!this.authorized(req, 'git')) {
        record(401);
        res.writeHead(401, { 'www-authenticate': 'Basic realm="GitHub"' }).end();
        return;
      }
      const status = await serveGitHttp(req, body, res, this.root, url.pathname, url.search.slice(1));
      if (method === 'POST' && git[2] === '/git-receive-pack' && status === 200) this.pushes.push(git[1]!.replace(/\.git$/, ''));
      record(status);
      return;
    }
    let answer: Answer;
    let op: MatchedOperation | undefined;
    if (url.pathname === '/api/graphql') answer = this.authorized(req, 'api') ? this.graphql(body) : { status: 401, body: errorBody('Bad credentials') };
    else if (!url.pathname.startsWith('/api/v3/')) answer = { status: 404, body: errorBody('Not Found') };
    else {
      op = this.spec.match(method, url.pathname.slice('/api/v3'.length));
      if (!op) {
        this.violations.push(`${method} ${url.pathname}: no operation of GitHub's REST API has this method and path`);
        answer = { status: 404, body: errorBody('Not Found') };
      } else {
        const problems = this.spec.validateRequest(op, {
          query: url.searchParams,
          rawBody: body.toString('utf8'),
          ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
        });
        this.violations.push(...problems.map((p) => `${method} ${url.pathname} (${op!.operationId}): ${p}`));
        if (op.operationId === 'apps/create-installation-access-token')
          answer = problems.length ? { status: 422, body: errorBody('Invalid request.') } : this.installationToken(op, req);
        else if (!this.authorized(req, 'api')) answer = { status: 401, body: errorBody('Bad credentials') };
        else if (this.limits.length) answer = this.limits.shift()!;
        else if (problems.length)
          answer = { status: 422, body: errorBody('Invalid request.', { errors: problems.map((message) => ({ code: 'invalid', message })) }) };
        else answer = this.rest(op, body.toString('utf8') ? (JSON.parse(body.toString('utf8')) as Json) : {}, url.searchParams, req);
        if (answer.body !== undefined && this.spec.documents(op, answer.status)) {
          this.violations.push(...this.spec.validateResponse(op, answer.status, answer.body).map((p) => `the fake answered off-schema: ${p}`));
        }
      }
    }
    // Conditional requests as GitHub answers them: an ETag on each list, 304 (no body, no rate limit) when it matches.
    if (op && method === 'GET' && answer.status === 200 && answer.body !== undefined && CONDITIONAL_OPS.has(op.operationId)) {
      const etag = `"${createHash('sha256').update(JSON.stringify(answer.body)).digest('hex').slice(0, 32)}"`;
      answer = req.headers['if-none-match'] === etag ? { status: 304, headers: { etag } } : { ...answer, headers: { ...answer.headers, etag } };
    }
    record(answer.status, op?.operationId);
    const headers = { 'x-github-media-type': 'github.v3; format=json', 'x-ratelimit-remaining': '4999', ...answer.headers };
    if (answer.status === 304) res.writeHead(304, headers).end();
    else if (answer.text !== undefined) res.writeHead(answer.status, { ...headers, 'content-type': 'text/plain; charset=utf-8' }).end(answer.text);
    else
      res
        .writeHead(answer.status, { ...headers, 'content-type': 'application/json; charset=utf-8' })
        .end(answer.body === undefined ? '' : JSON.stringify(answer.body));
  }

  private ctx(pull?: FakePull): RenderContext {
    const headSha = pull ? (pull.headShaFrozen ?? this.sha(pull.repo, pull.head)) : '';
    const baseSha = pull ? this.sha(pull.repo, pull.base) : '';
    const mergeable = pull && headSha && baseSha ? tryGit(this.bare(pull.repo), 'merge-tree', '--write-tree', baseSha, headSha).ok : null;
    return { spec: this.spec, web: this.web, headSha, baseSha, mergeable };
  }

  private pullOf(repo: string, number: number): FakePull | undefined {
    return this.pulls.find((p) => p.repo === repo && p.number === number);
  }

  private rest(op: MatchedOperation, body: Json, query: URLSearchParams, req: IncomingMessage): Answer {
    const p = op.pathParams;
    const repo = `${p.owner}/${p.repo}`;
    const now = new Date().toISOString();
    const number = Number(p.pull_number ?? p.issue_number);
    const pull = this.pullOf(repo, number);
    const missing: Answer = { status: 404, body: errorBody('Not Found') };
    switch (op.operationId) {
      case 'pulls/list': {
        const state = query.get('state') ?? 'open';
        const head = query.get('head');
        const found = this.pulls.filter(
          (x) =>
            x.repo === repo && (state === 'all' || x.state === state) && (!head || `${p.owner}:${x.head}` === head) && !this.hiddenFromNextList.has(x.number),
        );
        this.hiddenFromNextList.clear();
        return { status: 200, body: found.reverse().map((x) => renderPull(this.ctx(x), x, 'pull-request-simple')) };
      }
      case 'pulls/create': {
        const head = String(body.head).replace(new RegExp(`^${p.owner}:`), '');
        const base = String(body.base);
        const invalid = (field: string) => ({
          status: 422,
          body: errorBody('Validation Failed', { errors: [{ resource: 'PullRequest', field, code: 'invalid' }] }),
        });
        if (!this.sha(repo, head)) return invalid('head');
        if (!this.sha(repo, base)) return invalid('base');
        if (this.pulls.some((x) => x.repo === repo && x.state === 'open' && x.head === head && x.base === base)) {
          return {
            status: 422,
            body: errorBody('Validation Failed', {
              errors: [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${p.owner}:${head}.` }],
            }),
          };
        }
        if (git(this.bare(repo), 'rev-list', '--count', `${this.sha(repo, base)}..${this.sha(repo, head)}`) === '0') {
          return {
            status: 422,
            body: errorBody('Validation Failed', { errors: [{ resource: 'PullRequest', code: 'custom', message: `No commits between ${base} and ${head}` }] }),
          };
        }
        const created: FakePull = {
          repo,
          number: this.pulls.filter((x) => x.repo === repo).length + 1,
          id: (this.nextId += 1),
          node_id: `PR_kw${this.nextId}`,
          title: String(body.title),
          body: typeof body.body === 'string' ? body.body : null,
          head,
          base,
          state: 'open',
          draft: body.draft === true,
          merged: false,
          merged_at: null,
          merge_commit_sha: null,
          closed_at: null,
          labels: [],
          comments: [],
          created_at: now,
          updated_at: now,
        };
        this.pulls.push(created);
        return { status: 201, body: renderPull(this.ctx(created), created, 'pull-request') };
      }
      case 'pulls/get': {
        if (!pull) return missing;
        const ctx = this.ctx(pull);
        if (String(req.headers.accept ?? '').includes('diff'))
          return { status: 200, text: git(this.bare(repo), 'diff', `${ctx.baseSha}...${ctx.headSha}`) + '\n' };
        return { status: 200, body: renderPull(ctx, pull, 'pull-request') };
      }
      case 'pulls/update': {
        if (!pull) return missing;
        if (typeof body.title === 'string') pull.title = body.title;
        if (typeof body.body === 'string') pull.body = body.body;
        if (body.state === 'closed' && pull.state === 'open')
          Object.assign(pull, { state: 'closed', closed_at: now, headShaFrozen: this.sha(repo, pull.head) });
        pull.updated_at = now;
        return { status: 200, body: renderPull(this.ctx(pull), pull, 'pull-request') };
      }
      case 'issues/set-labels': {
        if (!pull) return missing;
        pull.labels = [...new Set((body.labels as string[]) ?? [])];
        pull.updated_at = now;
        return { status: 200, body: pull.labels.map((l, i) => renderLabel(this.ctx(), repo, l, i)) };
      }
      case 'issues/create-comment': {
        if (!pull) return missing;
        const comment = { id: (this.nextId += 1), body: String(body.body) };
        pull.comments.push(comment);
        return { status: 201, body: renderComment(this.ctx(), pull, comment) };
      }
      case 'pulls/list-reviews':
        return pull ? { status: 200, body: (pull.reviews ?? []).map((r) => renderReview(this.ctx(pull), pull, r)) } : missing;
      case 'pulls/merge':
        return pull ? this.merge(pull, body, now) : missing;
      case 'git/delete-ref': {
        // GitHub answers a missing reference with 422 "Reference does not exist".
        const branch = p.ref!.startsWith('heads/') ? p.ref!.slice('heads/'.length) : '';
        if (!branch || !this.sha(repo, branch)) return { status: 422, body: errorBody('Reference does not exist') };
        git(this.bare(repo), 'update-ref', '-d', `refs/heads/${branch}`);
        return { status: 204 };
      }
      case 'repos/get-combined-status-for-ref':
        return { status: 200, body: renderCombinedStatus(this.ctx(), p.ref!, this.checks.get(p.ref!) ?? { statuses: [], runs: [] }) };
      case 'checks/list-for-ref':
        return { status: 200, body: renderCheckRuns(this.ctx(), p.ref!, this.checks.get(p.ref!) ?? { statuses: [], runs: [] }) };
      default:
        this.violations.push(`the fake does not implement ${op.operationId} (${op.method} ${op.template})`);
        return { status: 501, body: errorBody('Not implemented by the fake') };
    }
  }

  /** GitHub's merge: a merge (or squash) commit made on the server, at exactly the head the caller saw. */
  private merge(pull: FakePull, body: Json, now: string): Answer {
    const bare = this.bare(pull.repo);
    const { headSha, baseSha } = this.ctx(pull);
    if (pull.state !== 'open') return { status: 405, body: errorBody('Pull Request is not mergeable') };
    if (pull.draft) return { status: 405, body: errorBody('Pull Request is still a draft') };
    if (body.sha !== undefined && body.sha !== headSha) return { status: 409, body: errorBody('Head branch was modified. Review and try the merge again.') };
    const tree = tryGit(bare, 'merge-tree', '--write-tree', baseSha, headSha);
    if (!tree.ok) return { status: 405, body: errorBody('Pull Request is not mergeable') };
    const method = body.merge_method ?? 'merge';
    if (method === 'rebase')
      return { status: 422, body: errorBody('Validation Failed', { errors: [{ resource: 'PullRequest', field: 'merge_method', code: 'invalid' }] }) };
    const title = typeof body.commit_title === 'string' ? body.commit_title : `Merge pull request #${pull.number}`;
    const parents = method === 'squash' ? ['-p', baseSha] : ['-p', baseSha, '-p', headSha];
    const commit = git(bare, 'commit-tree', tree.out.split('\n')[0]!, ...parents, '-m', title);
    git(bare, 'update-ref', `refs/heads/${pull.base}`, commit, baseSha);
    Object.assign(pull, { state: 'closed', merged: true, merged_at: now, closed_at: now, merge_commit_sha: commit, headShaFrozen: headSha, updated_at: now });
    return { status: 200, body: { sha: commit, merged: true, message: 'Pull Request successfully merged' } };
  }

  private graphql(body: Buffer): Answer {
    let call: { query?: unknown; variables?: Json };
    try {
      call = JSON.parse(body.toString('utf8')) as typeof call;
    } catch {
      this.violations.push('GraphQL: the body is not JSON');
      return { status: 400, body: errorBody('Problems parsing JSON') };
    }
    const query = String(call.query ?? '');
    const variables = call.variables ?? {};
    this.graphqlCalls.push({ query, variables });
    const m =
      /^\s*mutation\s*\(\s*\$id:\s*ID!\s*\)\s*\{\s*(markPullRequestReadyForReview|convertPullRequestToDraft)\s*\(\s*input:\s*\{\s*pullRequestId:\s*\$id\s*\}\s*\)\s*\{\s*pullRequest\s*\{\s*isDraft\s*\}\s*\}\s*\}\s*$/.exec(
        query,
      );
    if (!m) {
      this.violations.push(`GraphQL: unexpected document ${query}`);
      return { status: 200, body: { errors: [{ message: 'Unexpected document' }] } };
    }
    const pull = this.pulls.find((x) => x.node_id === variables.id);
    if (!pull)
      return {
        status: 200,
        body: {
          data: { [m[1]!]: null },
          errors: [{ type: 'NOT_FOUND', path: [m[1]], message: `Could not resolve to a node with the global id of '${String(variables.id)}'` }],
        },
      };
    pull.draft = m[1] === 'convertPullRequestToDraft';
    pull.updated_at = new Date().toISOString();
    return { status: 200, body: { data: { [m[1]!]: { pullRequest: { isDraft: pull.draft } } } } };
  }
}
