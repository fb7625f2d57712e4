import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Serves git's smart HTTP protocol the way a forge does, by running the real `git http-backend`
 * CGI program over the repositories under `projectRoot` (pushes allowed: REMOTE_USER is set).
 * Resolves with the HTTP status it answered.
 */
export function serveGitHttp(req: IncomingMessage, body: Buffer, res: ServerResponse, projectRoot: string, pathInfo: string, query: string): Promise<number> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    GIT_PROJECT_ROOT: projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    GIT_CONFIG_NOSYSTEM: '1',
    PATH_INFO: pathInfo,
    REQUEST_METHOD: req.method ?? 'GET',
    QUERY_STRING: query,
    CONTENT_LENGTH: String(body.byteLength),
    REMOTE_USER: 'x-access-token',
    REMOTE_ADDR: '127.0.0.1',
  };
  if (req.headers['content-type']) env.CONTENT_TYPE = req.headers['content-type'];
  if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = String(req.headers['content-encoding']);
  if (req.headers['git-protocol']) env.GIT_PROTOCOL = String(req.headers['git-protocol']);
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.once('error', reject);
    child.once('close', () => {
      const all = Buffer.concat(out);
      const split = all.indexOf('\r\n\r\n') >= 0 ? all.indexOf('\r\n\r\n') : all.indexOf('\n\n');
      const sep = all.indexOf('\r\n\r\n') >= 0 ? 4 : 2;
      if (split < 0) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`git http-backend gave no CGI headers: ${Buffer.concat(err).toString('utf8')}`);
        return resolve(500);
      }
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of all.subarray(0, split).toString('latin1').split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      res.writeHead(status, headers).end(all.subarray(split + sep));
      resolve(status);
    });
    // http-backend may answer without reading all of the request (a refused or finished negotiation).
    child.stdin.on('error', () => undefined);
    child.stdin.end(body);
  });
}
