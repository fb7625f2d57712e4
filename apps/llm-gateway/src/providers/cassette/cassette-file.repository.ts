import { appendFile, mkdir } from 'node:fs/promises';
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { CassetteError, checkExchange, type CassetteExchange } from './cassette.js';

/**
 * Cassette files (JSON lines, one exchange each) on disk. Appends are queued per file so lines
 * never interleave; reads are cached until the file's modification time changes.
 */
@Injectable()
export class CassetteFileRepository implements BeforeApplicationShutdown {
  private readonly writes = new Map<string, Promise<void>>();
  private readonly cache = new Map<string, { mtimeMs: number; size: number; exchanges: CassetteExchange[] }>();

  /** Resolves once the line is on disk; a failure rejects (the recorder logs it). */
  append(file: string, exchange: CassetteExchange): Promise<void> {
    const line = `${JSON.stringify(exchange)}\n`;
    const previous = this.writes.get(file) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        await mkdir(dirname(file), { recursive: true });
        await appendFile(file, line, 'utf8');
      });
    this.writes.set(file, next);
    return next;
  }

  /** Waits for the queued appends (tests, shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.writes.values()].map((p) => p.catch(() => undefined)));
  }

  /** A recorded exchange must not be lost because the gateway stopped right after it. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.flush();
  }

  /** The exchanges of a cassette, in recorded order; throws CassetteError naming the file and line. */
  load(file: string): CassetteExchange[] {
    let text: string;
    let mtimeMs: number;
    let size: number;
    try {
      const st = statSync(file);
      mtimeMs = st.mtimeMs;
      size = st.size;
      const cached = this.cache.get(file);
      if (cached && cached.mtimeMs === mtimeMs && cached.size === size) return cached.exchanges;
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new CassetteError(file, `cannot read: ${(e as Error).message}`);
    }
    const exchanges: CassetteExchange[] = [];
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (e) {
        throw new CassetteError(file, `line ${i + 1}: not JSON (${(e as Error).message})`);
      }
      exchanges.push(checkExchange(value, file, `line ${i + 1}`));
    });
    this.cache.set(file, { mtimeMs, size, exchanges });
    return exchanges;
  }
}
