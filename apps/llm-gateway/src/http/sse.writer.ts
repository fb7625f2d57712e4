import type { ServerResponse } from 'node:http';
import { socketWrites } from '../common/socket-writes.js';

/**
 * Server-sent events on a response: OpenAI's `data: <json>` lines (ending with `data: [DONE]`)
 * and Anthropic's `event: <name>` + `data: <json>` pairs. Writes after the client went away are
 * dropped. Events written in the same turn of the event loop (a vendor's burst) leave in one
 * socket write at the end of the turn, with the other calls' writes (socketWrites), which delays
 * nothing. (Corking the response instead loses data when it ends inside the turn.)
 */
export class SseWriter {
  private opened = false;
  private ending = false;
  private pending: string[] = [];
  private readonly flush = (): void => {
    // The end, later in the same burst, sends the rest with the response's last chunk: one write.
    if (this.ending) return;
    const text = this.take();
    const raw = this.res;
    if (text && !raw.destroyed && !raw.writableEnded) raw.write(text);
  };

  constructor(private readonly res: ServerResponse) {}

  get isOpen(): boolean {
    return this.opened;
  }

  open(): void {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.opened = true;
  }

  data(value: object): void {
    this.write(`data: ${JSON.stringify(value)}\n\n`);
  }

  event(name: string, value: object): void {
    this.write(`event: ${name}\ndata: ${JSON.stringify(value)}\n\n`);
  }

  /** An event already written out (`data: ...` and its blank line), for pieces made ahead. */
  raw(text: string): void {
    this.write(text);
  }

  done(): void {
    this.write('data: [DONE]\n\n');
    this.end();
  }

  /** Ends the response after what was written, at the end of the turn. */
  end(): void {
    if (this.ending) return;
    this.ending = true;
    socketWrites.defer(() => {
      const raw = this.res;
      if (raw.destroyed || raw.writableEnded) return;
      const rest = this.take();
      if (rest) raw.end(rest);
      else raw.end();
    });
  }

  private write(text: string): void {
    if (this.ending) return;
    if (this.pending.push(text) === 1) socketWrites.defer(this.flush);
  }

  private take(): string {
    if (this.pending.length === 0) return '';
    const text = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    this.pending = [];
    return text;
  }
}
