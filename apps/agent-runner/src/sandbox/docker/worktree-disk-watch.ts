import { spawn } from 'node:child_process';
import { Injectable } from '@nestjs/common';

/** How much a directory tree holds on disk, measured on the host by `du`. */
@Injectable()
export class DiskUsage {
  /**
   * Kilobytes the tree under `dir` uses: links are not followed and other file systems are not
   * entered (`du -skx`), so a tree the sandbox wrote cannot point the walk elsewhere. du reports
   * a total even when files vanish during the walk (a command deleting them); undefined when it
   * printed none.
   */
  kilobytes(dir: string, timeoutMs = 30_000): Promise<number | undefined> {
    return new Promise((resolve) => {
      const child = spawn('du', ['-skx', '--', dir], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: timeoutMs,
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.on('error', () => resolve(undefined));
      child.on('close', () => {
        const kb = /^(\d+)\s/m.exec(out)?.[1];
        resolve(kb === undefined ? undefined : Number(kb));
      });
    });
  }
}

/** What the watch found once its command ended: the total it measured last, and whether it was past the limit. */
export interface WorktreeDiskReading {
  kb: number;
  over: boolean;
}

/**
 * Bounds a job's worktree as a whole while a command runs: its slot is measured every
 * `intervalMs`, and `onOver` ends the command the first time it holds more than `limitKb`. The
 * kernel's per-file cap (ulimit fsize) bounds each file; this bounds their sum, within what a
 * command can write in one interval (no kernel quota is available for a bind-mounted host
 * directory: see the runner's README, Disk limit).
 */
export class WorktreeDiskWatch {
  private timer?: NodeJS.Timeout;
  private measuring?: Promise<void>;
  private last = 0;
  private over = false;
  private stopped = false;

  constructor(
    private readonly usage: DiskUsage,
    private readonly dir: string,
    private readonly limitKb: number,
    private readonly intervalMs: number,
    private readonly onOver: (kb: number) => void,
  ) {}

  start(): this {
    this.schedule();
    return this;
  }

  /** Stops polling and measures once more: a command that ended past the limit is caught too. */
  async stop(): Promise<WorktreeDiskReading> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.measuring;
    await this.measure();
    return { kb: this.last, over: this.over };
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.measuring = this.measure().finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  private async measure(): Promise<void> {
    const kb = await this.usage.kilobytes(this.dir);
    if (kb === undefined) return;
    this.last = kb;
    if (kb > this.limitKb && !this.over) {
      this.over = true;
      this.onOver(kb);
    }
  }
}
