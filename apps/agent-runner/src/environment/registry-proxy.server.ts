import type * as HttpModule from 'node:http';
import type * as NetModule from 'node:net';

/** The port the proxy listens on inside its container. */
export const PROXY_PORT = 3128;

/**
 * Whether `host:port` is on the allowlist. Entries: `host` (ports 80 and 443), `host:port`, or
 * `*.domain` (any name below domain, ports 80 and 443; `*.domain:port` for another port). Names
 * compare case-insensitively and exactly: an IP address is allowed only when listed as such.
 */
export function isAllowed(allow: readonly string[], host: string, port: number): boolean {
  const name = host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  for (const raw of allow) {
    const entry = raw.toLowerCase();
    const m = /^(.*?)(?::(\d+))?$/.exec(entry)!;
    const pattern = m[1]!;
    const ports = m[2] ? [Number(m[2])] : [80, 443];
    if (!ports.includes(port)) continue;
    if (pattern.startsWith('*.') ? name.endsWith(pattern.slice(1)) && name.length > pattern.length - 1 : name === pattern) return true;
  }
  return false;
}

/**
 * The registry proxy: an HTTP forward proxy (plain `http://` requests and `CONNECT` tunnels for
 * HTTPS) that lets a setup reach only the hosts on its allowlist and refuses the rest with a 403
 * that says why. It runs in a container of its own between the setup's `--internal` network and
 * an egress network, so the setup has no other way out. Each decision is one JSON line on stdout.
 *
 * Sent as source text (`node -e`), like the command server: only globals, built-in modules and
 * the allowlist matcher it is given. Arguments: the allowlist as JSON, then the port.
 */
export function registryProxyMain(isAllowedFn: typeof isAllowed): void {
  const g = globalThis as unknown as { require?: (id: string) => unknown };
  const load = <T>(id: string): T => (typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule(id) : g.require!(id)) as T;
  const http = load<typeof HttpModule>('node:http');
  const net = load<typeof NetModule>('node:net');
  const allow = JSON.parse(process.argv[process.argv.length - 2]!) as string[];
  const port = Number(process.argv[process.argv.length - 1]);
  const allowed = (host: string, p: number): boolean => isAllowedFn(allow, host, p);
  const log = (msg: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(msg)}\n`);
  const refusal = (host: string, p: number) =>
    `agency registry proxy: ${host}:${p} is not an allowed registry for this setup (allowed: ${allow.join(', ') || 'none'}; repos.<name>.registries in agency.yaml)\n`;

  const server = http.createServer((req, res) => {
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('agency registry proxy: only absolute http:// URLs and CONNECT are proxied\n');
      return;
    }
    const p = Number(target.port || 80);
    if (target.protocol !== 'http:' || !allowed(target.hostname, p)) {
      log({ t: 'refuse', method: req.method, host: target.hostname, port: p });
      res.writeHead(403, { 'content-type': 'text/plain' }).end(refusal(target.hostname, p));
      return;
    }
    log({ t: 'allow', method: req.method, host: target.hostname, port: p });
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const upstream = http.request({ host: target.hostname, port: p, method: req.method, path: `${target.pathname}${target.search}`, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`agency registry proxy: ${target.hostname}:${p} failed: ${e.message}\n`);
    });
    req.pipe(upstream);
  });

  server.on('connect', (req: HttpModule.IncomingMessage, socket: NetModule.Socket, head: Buffer) => {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(req.url ?? '');
    const host = m?.[1] ?? '';
    const p = Number(m?.[2] ?? 0);
    if (!m || !allowed(host, p)) {
      log({ t: 'refuse', method: 'CONNECT', host, port: p });
      const body = refusal(host, p);
      socket.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    log({ t: 'allow', method: 'CONNECT', host, port: p });
    const upstream = net.connect(p, host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', (e) => socket.end(`HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\n\r\nagency registry proxy: ${host}:${p} failed: ${e.message}\n`));
    socket.on('error', () => upstream.destroy());
  });
  server.listen(port, '0.0.0.0', () => log({ t: 'ready', port }));
}

/** The `node` arguments that start the proxy with an allowlist. */
export function registryProxyArgs(allow: readonly string[], port = PROXY_PORT): string[] {
  return ['-e', `(${registryProxyMain.toString()})(${isAllowed.toString()})`, 'agency-registry-proxy', JSON.stringify(allow), String(port)];
}
