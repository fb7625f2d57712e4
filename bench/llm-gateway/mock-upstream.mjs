// A minimal OpenAI-compatible upstream for the benchmark: answers /v1/chat/completions at once,
// as JSON or as an SSE stream (12 chunks), with precomputed bytes so it costs as little as possible.
// Usage: node bench/llm-gateway/mock-upstream.mjs <port>
import http from 'node:http';

const port = Number(process.argv[2] ?? 0);
const created = 1_764_000_000;
const text = 'The farewell function returns a polite goodbye for the given name, and its test checks it.';
const completion = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created,
    model: 'bench-model',
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 120, completion_tokens: 24, total_tokens: 144, prompt_tokens_details: { cached_tokens: 0 } },
  }),
);
const base = { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created, model: 'bench-model' };
const chunk = (delta, finish = null) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
const words = text.match(/.{1,8}/g);
const events = [chunk({ role: 'assistant', content: '' }), ...words.map((w) => chunk({ content: w })), chunk({}, 'stop')];
const usage = `data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 120, completion_tokens: 24, total_tokens: 144 } })}\n\n`;
const streamBody = Buffer.from(events.join(''));
const usageBody = Buffer.from(usage);
const done = Buffer.from('data: [DONE]\n\n');

const server = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    if (!body.includes('"stream":true')) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': completion.length });
      res.end(completion);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(streamBody);
    if (body.includes('"include_usage":true')) res.write(usageBody);
    res.end(done);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.send?.({ port: server.address().port }));
