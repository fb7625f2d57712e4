import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Injectable } from '@nestjs/common';
import { AgentRunnerConfig } from '../agent-runner.config.js';

/** A directory's identity: a rename keeps it, a replacement does not. */
export interface WorktreeIdentity {
  dev: number;
  ino: number;
}

/** What this runner knows about a job's worktree; the cleanup command carries nothing else. */
export interface JobRecord {
  jobId: string;
  repo: string;
  mirrorDir: string;
  worktreeDir: string;
  branch: string;
  /** The commit the branch started from: a code round resets to it (round 1) before writing. */
  baseSha: string;
  /** The worktree's git directory inside the mirror, recorded when git made it (see WorkspaceService). */
  gitDir?: string;
  /**
   * The worktree directory's identity, taken at its home (worktrees/<job>, where no sandbox
   * reaches) when it is made and at the start of every step: host code refuses any other
   * directory in its place (see WorktreeRoots).
   */
  worktree?: WorktreeIdentity;
  createdAt: string;
}

/** One JSON file per job under WORK_DIR/jobs, written before the worktree exists and removed after it is gone. */
@Injectable()
export class JobRecordRepository {
  private readonly dir: string;

  constructor(config: AgentRunnerConfig) {
    this.dir = join(resolve(config.WORK_DIR), 'jobs');
  }

  private file(jobId: string): string {
    return join(this.dir, `${jobId}.json`);
  }

  get(jobId: string): JobRecord | undefined {
    let text: string;
    try {
      text = readFileSync(this.file(jobId), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      return JSON.parse(text) as JobRecord;
    } catch {
      // A record cut short by a crash is as good as none: the worktree is rebuilt.
      return undefined;
    }
  }

  save(record: JobRecord): void {
    mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.file(record.jobId)}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`);
    renameSync(tmp, this.file(record.jobId));
  }

  delete(jobId: string): void {
    rmSync(this.file(jobId), { force: true });
  }
}
