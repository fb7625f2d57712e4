// eslint-disable-next-line no-control-regex -- escape sequences are exactly what is removed
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;

/**
 * Text without terminal colours and cursor moves. The sandbox no longer sets NO_COLOR (it broke
 * the colour tests of a library in a relay trial, commander.js), so a runner that colours under
 * CI=true (picocolors does) writes escapes that no reader of a result wants.
 */
export function withoutAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/**
 * Keeps a command's output within a byte bound: the first quarter and the last three quarters of
 * the bound, with a marker where the middle was dropped. The end matters most (test summaries,
 * the failure), the start shows what ran.
 */
export class BoundedOutput {
  private readonly headLimit: number;
  private readonly tailLimit: number;
  private head = Buffer.alloc(0);
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private total = 0;

  constructor(maxBytes: number) {
    if (!Number.isInteger(maxBytes) || maxBytes < 16) throw new Error(`maxBytes must be an integer of at least 16, got ${maxBytes}`);
    this.headLimit = Math.floor(maxBytes / 4);
    this.tailLimit = maxBytes - this.headLimit;
  }

  append(chunk: Buffer): void {
    this.total += chunk.length;
    let rest = chunk;
    if (this.head.length < this.headLimit) {
      const take = Math.min(this.headLimit - this.head.length, rest.length);
      this.head = Buffer.concat([this.head, rest.subarray(0, take)]);
      rest = rest.subarray(take);
    }
    if (rest.length === 0) return;
    this.tail.push(rest);
    this.tailBytes += rest.length;
    while (this.tailBytes > this.tailLimit) {
      const first = this.tail[0]!;
      const excess = this.tailBytes - this.tailLimit;
      if (first.length <= excess) {
        this.tail.shift();
        this.tailBytes -= first.length;
      } else {
        this.tail[0] = first.subarray(excess);
        this.tailBytes -= excess;
      }
    }
  }

  /**
   * Replaces the end with one kept elsewhere: the sandbox's server forwards the first bytes and
   * keeps the last ones itself, so a flood of output never crosses the wire whole.
   */
  finishWith(totalBytes: number, tail: Buffer): void {
    const kept = tail.subarray(-this.tailLimit);
    this.tail = [kept];
    this.tailBytes = kept.length;
    this.total = Math.max(totalBytes, this.head.length + kept.length);
  }

  get totalBytes(): number {
    return this.total;
  }

  get truncated(): boolean {
    return this.total > this.head.length + this.tailBytes;
  }

  /** The kept output as text, its colours removed (the bound counts the bytes as written). */
  toString(): string {
    const tail = Buffer.concat(this.tail).toString('utf8');
    if (!this.truncated) return withoutAnsi(this.head.toString('utf8') + tail);
    const dropped = this.total - this.head.length - this.tailBytes;
    return withoutAnsi(`${this.head.toString('utf8')}\n[... ${dropped} bytes of output omitted ...]\n${tail}`);
  }
}
