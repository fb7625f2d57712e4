import type { FastifyReply } from 'fastify';

/**
 * Server-sent events in OpenAI's streaming format: `data: <json>` lines, ending with
 * `data: [DONE]`. Takes the response over from Fastify once opened.
 */
export class SseWriter {
  private opened = false;

  constructor(private readonly reply: FastifyReply) {}

  get isOpen(): boolean {
    return this.opened;
  }

  open(): void {
    this.reply.hijack();
    this.reply.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    this.opened = true;
  }

  data(value: object): void {
    this.write(`data: ${JSON.stringify(value)}\n\n`);
  }

  done(): void {
    this.write('data: [DONE]\n\n');
    this.end();
  }

  end(): void {
    if (!this.reply.raw.destroyed && !this.reply.raw.writableEnded) this.reply.raw.end();
  }

  private write(text: string): void {
    if (!this.reply.raw.destroyed && !this.reply.raw.writableEnded) this.reply.raw.write(text);
  }
}
