import { randomUUID } from 'node:crypto';

/** Time and ids behind one injectable class, so services are tested with a fixed clock. */
export class Clock {
  now(): Date {
    return new Date();
  }
  nowMs(): number {
    return Date.now();
  }
  uuid(): string {
    return randomUUID();
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
