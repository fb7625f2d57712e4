/** One server-sent event: `event` is undefined for plain `data:` messages (OpenAI's). */
export interface SseEvent {
  event?: string;
  data: string;
}

/**
 * Incremental server-sent-events parser (the WHATWG rules the vendors' SDKs follow): lines end
 * with LF, CRLF or CR, `data:` lines of one event are joined with LF, a blank line dispatches,
 * `:` lines are comments. Bytes may be split anywhere, even inside a UTF-8 character.
 */
export class SseDecoder {
  private readonly text = new TextDecoder('utf-8');
  private buffer = '';
  private event?: string;
  private data: string[] = [];
  private sawData = false;

  /** Feeds bytes; returns the events they completed. */
  push(chunk: Uint8Array): SseEvent[] {
    this.buffer += this.text.decode(chunk, { stream: true });
    return this.drain(false);
  }

  /** At the end of the stream; an event without its closing blank line is dropped, as the spec says. */
  end(): SseEvent[] {
    this.buffer += this.text.decode();
    return this.drain(true);
  }

  private drain(final: boolean): SseEvent[] {
    const out: SseEvent[] = [];
    const buffer = this.buffer;
    // Line ends are found by indexOf (native), not a loop over characters: vendors end lines
    // with LF; a CR, rare, is looked for once per chunk and again only after it was passed.
    let cr = buffer.indexOf('\r');
    let start = 0;
    for (;;) {
      const lf = buffer.indexOf('\n', start);
      if (cr >= 0 && cr < start) cr = buffer.indexOf('\r', start);
      const i = cr >= 0 && (lf < 0 || cr < lf) ? cr : lf;
      if (i < 0) break;
      // A CR at the very end of a chunk may be the first half of CRLF: wait for more.
      if (i === cr && i + 1 >= buffer.length && !final) break;
      const line = buffer.slice(start, i);
      start = i + (i === cr && buffer.charCodeAt(i + 1) === 10 ? 2 : 1);
      this.line(line, out);
    }
    this.buffer = start === 0 ? buffer : buffer.slice(start);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.sawData) out.push({ ...(this.event !== undefined ? { event: this.event } : {}), data: this.data.join('\n') });
      this.event = undefined;
      this.data = [];
      this.sawData = false;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.data.push(value);
      this.sawData = true;
    } else if (field === 'event') this.event = value;
  }
}
