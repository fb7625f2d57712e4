import { Injectable } from '@nestjs/common';

/**
 * One writer at a time per repository in this process: the mirror's refs and worktrees, the
 * forge branch and the PR records are read and then written, and two deliveries of the same
 * command (redelivery during a slow push) must not both see "no PR yet".
 */
@Injectable()
export class RepoLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
