import { spawn } from 'node:child_process';
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { gitEnv } from '@agency/git';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { ForgeError } from '../forge/forge.errors.js';
import { GitServiceConfig } from '../git-service.config.js';
import { ForgeConfigRepository } from '../vault/forge-config.repository.js';
import { parseCgiHead } from './cgi-head.js';
import { ServedMirrors } from './served-mirrors.service.js';

/** `/<owner>/<name>.git/info/refs` or `/<owner>/<name>.git/git-upload-pack`: reading, nothing else. */
const ROUTE = /^\/([A-Za-z0-9_][A-Za-z0-9_.-]{0,99})\/([A-Za-z0-9_][A-Za-z0-9_.-]{0,99})\.git\/(info\/refs|git-upload-pack)$/;
/** An upload-pack request is a list of wants and haves; nothing a reader sends is this large. */
const MAX_REQUEST_BYTES = 32 * 1024 * 1024;

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The credential of a request: `Bearer <t>`, or Basic with the token as password (any user name), as git sends either. */
export function presentedToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const [scheme, value] = authorization.split(/\s+/, 2);
  if (!value) return undefined;
  if (scheme?.toLowerCase() === 'bearer') return value;
  if (scheme?.toLowerCase() !== 'basic') return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : undefined;
}

/**
 * Serves the configured repositories read-only over git's smart HTTP on GIT_MIRROR_PORT, for
 * agent-runners inside the cluster: a private GitHub repository is fetched by git-service with
 * its token and read from git-service with a service credential (GIT_MIRROR_TOKEN), so the
 * forge token never travels on the bus, never reaches a runner or a sandbox. The real `git
 * http-backend` answers; this class only checks the credential and the path, refreshes the
 * served copy on each ref advertisement, and streams. Pushes are refused (404: no route).
 */
@Injectable()
export class MirrorHttpServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server?: Server;
  private readonly expected?: Buffer;

  constructor(
    private readonly config: GitServiceConfig,
    private readonly repos: ForgeConfigRepository,
    private readonly mirrors: ServedMirrors,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {
    if (config.GIT_MIRROR_TOKEN) this.expected = digest(config.GIT_MIRROR_TOKEN);
  }

  /** Where the server listens (`http://host:port`), once it does. */
  get url(): string | undefined {
    const address = this.server?.address() as AddressInfo | null | undefined;
    return address ? `http://${this.config.HTTP_HOST === '0.0.0.0' ? '127.0.0.1' : this.config.HTTP_HOST}:${address.port}` : undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.expected) return;
    const server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => this.fail(res, 500, `mirror server failed: ${(e as Error).message}`));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.GIT_MIRROR_PORT, this.config.HTTP_HOST, () => resolve());
    });
    this.server = server;
    this.logger.info({ url: this.url }, 'serving repositories read-only over git smart HTTP');
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private authorized(req: IncomingMessage): boolean {
    const token = presentedToken(req.headers.authorization);
    return !!token && !!this.expected && timingSafeEqual(digest(token), this.expected);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://mirror');
    if (!this.authorized(req)) {
      req.resume();
      res.writeHead(401, { 'www-authenticate': 'Basic realm="agency git-service"', 'content-type': 'text/plain' }).end('a service credential is required\n');
      return;
    }
    const route = ROUTE.exec(url.pathname);
    const advert = route?.[3] === 'info/refs' && req.method === 'GET' && url.searchParams.get('service') === 'git-upload-pack';
    const pack = route?.[3] === 'git-upload-pack' && req.method === 'POST';
    if (!route || !(advert || pack)) return this.fail(res, 404, 'only fetches are served here (info/refs?service=git-upload-pack, git-upload-pack)', req);
    const repo = this.repos.servedRepo(`${route[1]}/${route[2]}`);
    if (!repo) return this.fail(res, 404, `${route[1]}/${route[2]} is not a repository of agency.yaml`, req);
    if (advert) {
      try {
        await this.mirrors.refresh(repo);
      } catch (e) {
        const status = e instanceof ForgeError && e.kind === 'unavailable' ? 503 : 502;
        this.logger.warn({ repo: repo.name, err: (e as Error).message }, 'served mirror could not be refreshed');
        return this.fail(res, status, (e as Error).message, req);
      }
    }
    await this.backend(req, res, `/${repo.owner}/${repo.repo}.git/${route[3]}`, url.search.slice(1));
    this.logger.debug({ repo: repo.name, op: route[3], status: res.statusCode }, 'served a fetch');
  }

  /** Runs `git http-backend` (CGI) for one request, streaming the request in and its answer out. */
  private backend(req: IncomingMessage, res: ServerResponse, pathInfo: string, query: string): Promise<void> {
    const env: Record<string, string> = {
      ...gitEnv(),
      GIT_PROJECT_ROOT: this.mirrors.projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: pathInfo,
      REQUEST_METHOD: req.method ?? 'GET',
      QUERY_STRING: query,
      REMOTE_ADDR: req.socket.remoteAddress ?? '',
    };
    const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined);
    for (const [cgi, name] of [
      ['CONTENT_TYPE', 'content-type'],
      ['CONTENT_LENGTH', 'content-length'],
      ['HTTP_CONTENT_ENCODING', 'content-encoding'],
      ['GIT_PROTOCOL', 'git-protocol'],
    ] as const) {
      const value = header(name);
      if (value) env[cgi] = value;
    }
    return new Promise((resolve) => {
      const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      const timer = setTimeout(() => child.kill('SIGKILL'), this.config.GIT_TIMEOUT_MS);
      let received = 0;
      let stderr = '';
      let head: Buffer = Buffer.alloc(0);
      let started = false;
      child.stderr.on('data', (c: Buffer) => (stderr = `${stderr}${c.toString('utf8')}`.slice(-4000)));
      child.stdout.on('data', (chunk: Buffer) => {
        if (started) {
          if (!res.write(chunk)) child.stdout.pause();
          return;
        }
        head = Buffer.concat([head, chunk]);
        const parsed = parseCgiHead(head);
        if (!parsed) return;
        started = true;
        res.writeHead(parsed.status, parsed.headers);
        if (parsed.body.length) res.write(parsed.body);
      });
      res.on('drain', () => child.stdout.resume());
      req.on('data', (c: Buffer) => {
        received += c.length;
        if (received > MAX_REQUEST_BYTES) child.kill('SIGKILL');
      });
      req.pipe(child.stdin);
      // http-backend may answer without reading all of the request (a refused or finished negotiation).
      child.stdin.on('error', () => undefined);
      res.on('close', () => child.exitCode === null && child.kill('SIGKILL'));
      child.once('error', (e) => {
        clearTimeout(timer);
        this.fail(res, 500, `git http-backend could not run: ${e.message}`);
        resolve();
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        if (!started) this.fail(res, 500, `git http-backend gave no answer (exit ${code}): ${stderr.trim()}`);
        else res.end();
        if (code !== 0) this.logger.warn({ path: pathInfo, code, stderr: stderr.trim() }, 'git http-backend failed');
        resolve();
      });
    });
  }

  private fail(res: ServerResponse, status: number, message: string, req?: IncomingMessage): void {
    req?.resume();
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, { 'content-type': 'text/plain' }).end(`${message}\n`);
  }
}
