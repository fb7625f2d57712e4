import { Injectable } from '@nestjs/common';

/** Randomness behind a class (backoff jitter), so tests can fix it. */
@Injectable()
export class Random {
  /** A number in [0, 1). */
  next(): number {
    return Math.random();
  }
}
