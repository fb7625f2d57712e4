import { Injectable } from '@nestjs/common';

/** Repeating timers behind a class, so heartbeats are tested without waiting. */
@Injectable()
export class Timers {
  /** Calls `fn` every `ms` milliseconds until the returned function is called. */
  every(ms: number, fn: () => void): () => void {
    const handle = setInterval(fn, ms);
    return () => clearInterval(handle);
  }
}
