// The least an LLM gateway can do, as a benchmark peer ("floor"): no auth, routing, limits,
// budgets, logs, metrics or telemetry; it reads the client's JSON, names the upstream model,
// forwards it over keep-alive connections (node:http, as ours does) and answers with the
// upstream's answer (parsed and written again for JSON, piped through for a stream). What it
// reaches on this machine bounds what a Node gateway here can: if the floor is not 5x Portkey,
// no Node gateway in front of this mock is.
// Usage: node bench/llm-gateway/floor-proxy.mjs <port> <upstream port>
import http from 'node:http';

const port = Number(process.argv[2]);
const upstreamPort = Number(process.argv[3]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function forward(body, res) {
  const payload = JSON.stringify(body);
  const up = http.request(
    {
      host: '127.0.0.1',
      port: upstreamPort,
      method: 'POST',
      path: '/v1/chat/completions',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    },
    (answer) => {
      if (body.stream) {
        res.writeHead(answer.statusCode, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        answer.pipe(res);
        return;
      }
      const chunks = [];
      answer.on('data', (c) => chunks.push(c));
      answer.on('end', () => {
        const text = JSON.stringify(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(answer.statusCode, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      });
    },
  );
  up.on('error', (e) => res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: String(e) } })));
  up.end(payload);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    body.model = 'bench-model';
    forward(body, res);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
