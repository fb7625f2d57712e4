import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A read-only git smart-HTTP server like git-service's mirror server: the real `git
 * http-backend` over `projectRoot`, answering only requests that carry `Authorization: Bearer
 * <token>` (401 otherwise). Records every request's path and whether it was authorized.
 */
export class TokenGitServer {
  readonly requests: Array<{ path: string; authorized: boolean }> = [];
  private server?: Server;
  url = '';

  private constructor(
    readonly projectRoot: string,
    readonly token: string,
  ) {}

  static async start(projectRoot: string, token: string): Promise<TokenGitServer> {
    const s = new TokenGitServer(projectRoot, token);
    s.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const authorized = req.headers.authorization === `Bearer ${token}`;
      s.requests.push({ path: url.pathname, authorized });
      if (!authorized) {
        req.resume();
        res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end();
        return;
      }
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        GIT_CONFIG_NOSYSTEM: '1',
        PATH_INFO: url.pathname,
        REQUEST_METHOD: req.method ?? 'GET',
        QUERY_STRING: url.search.slice(1),
      };
      if (req.headers['content-type']) env.CONTENT_TYPE = req.headers['content-type'];
      if (req.headers['git-protocol']) env.GIT_PROTOCOL = String(req.headers['git-protocol']);
      if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = String(req.headers['content-encoding']);
      const child = spawn('git', ['http-backend'], { env });
      const out: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stdin.on('error', () => undefined);
      req.pipe(child.stdin);
      child.on('close', () => {
        const all = Buffer.concat(out);
        const end = all.indexOf('\r\n\r\n');
        const head = all.subarray(0, end).toString('latin1').split('\r\n');
        const status = Number(/^Status: (\d+)/m.exec(head.join('\n'))?.[1] ?? 200);
        const headers = Object.fromEntries(
          head.filter((l) => l.includes(':') && !l.startsWith('Status')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
        );
        res.writeHead(status, headers).end(all.subarray(end + 4));
      });
    });
    await new Promise<void>((r) => s.server!.listen(0, '127.0.0.1', r));
    s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
    return s;
  }

  stop(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
