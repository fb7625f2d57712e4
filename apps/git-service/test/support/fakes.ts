import { dirname } from 'node:path';
import { createLogger } from '@agency/telemetry';
import type { ForgeFilesClient } from '../../src/forge/forge-files.client.js';
import type { PullRequestRecord } from '../../src/forge/forge.js';
import type { MergeRequest, DiffRequest } from '../../src/git/mirror.service.js';
import type { ForgeRepoRef } from '../../src/forge/repo-ref.js';

export const silentLogger = () => createLogger({ service: 'git-service-test', level: 'silent' });

/** A clock that says what the test tells it. */
export class FixedClock {
  constructor(public at = new Date(Date.UTC(2026, 10, 24, 9, 0, 0))) {}
  now(): Date {
    return this.at;
  }
  advance(ms: number): void {
    this.at = new Date(this.at.getTime() + ms);
  }
}

/** The forge's files in memory; every call yields once so concurrent callers interleave as on disk. */
export class MemoryFiles implements Pick<ForgeFilesClient, 'exists' | 'list' | 'read' | 'writeAtomic' | 'createExclusive'> {
  readonly files = new Map<string, string>();
  readonly dirs = new Set<string>();

  private async tick(): Promise<void> {
    await new Promise((r) => setImmediate(r));
  }

  async exists(path: string): Promise<boolean> {
    await this.tick();
    return this.files.has(path) || this.dirs.has(path);
  }

  async list(dir: string): Promise<string[]> {
    await this.tick();
    return [...this.files.keys()].filter((p) => dirname(p) === dir).map((p) => p.slice(dir.length + 1));
  }

  async read(path: string): Promise<string | undefined> {
    await this.tick();
    return this.files.get(path);
  }

  async writeAtomic(path: string, text: string): Promise<void> {
    await this.tick();
    this.files.set(path, text);
  }

  async createExclusive(path: string, text: string): Promise<boolean> {
    await this.tick();
    if (this.files.has(path)) return false;
    this.files.set(path, text);
    return true;
  }
}

/** The mirror's git side effects, recorded; results set by the test. */
export class FakeMirrors {
  readonly calls: string[] = [];
  pushResult: { pushed: boolean; behind?: boolean } = { pushed: true };
  mergeResult = { mergeSha: 'a'.repeat(40), alreadyMerged: false };
  failWith?: Error;

  async importBundle(repo: ForgeRepoRef, bundle: Uint8Array, branch: string, headSha: string): Promise<void> {
    this.calls.push(`import ${repo.name} ${branch} ${headSha} (${bundle.byteLength} bytes)`);
    if (this.failWith) throw this.failWith;
  }

  async pushBranch(_repo: ForgeRepoRef, remoteUrl: string, branch: string, headSha: string): Promise<{ pushed: boolean }> {
    this.calls.push(`push ${remoteUrl} ${branch} ${headSha}`);
    return this.pushResult;
  }

  /** Branches the fake forge has; deleteBranch removes them. */
  readonly branches = new Set<string>();

  async deleteBranch(_repo: ForgeRepoRef, remoteUrl: string, branch: string): Promise<boolean> {
    this.calls.push(`delete ${remoteUrl} ${branch}`);
    return this.branches.delete(branch);
  }

  async merge(_repo: ForgeRepoRef, remoteUrl: string, req: MergeRequest): Promise<{ mergeSha: string; alreadyMerged: boolean }> {
    this.calls.push(`merge ${remoteUrl} #${req.number} ${req.headSha} into ${req.base}: ${req.message}`);
    if (this.failWith) throw this.failWith;
    return this.mergeResult;
  }

  async diff(_repo: ForgeRepoRef, remoteUrl: string, req: DiffRequest): Promise<{ from: string; to: string; patch: string; truncated: boolean }> {
    this.calls.push(`diff ${remoteUrl} ${req.headSha}`);
    return { from: 'base', to: req.headSha, patch: '', truncated: false };
  }
}

/** A local forge's PR record for tests: PR `number` of example/greeter, open, with `patch` over it. */
export function samplePrRecord(number: number, patch: Partial<PullRequestRecord> = {}): PullRequestRecord {
  return {
    number,
    url: `local://example/greeter/pulls/${number}`,
    repo: 'example/greeter',
    title: 't',
    body: 'b',
    branch: `agency/FR-${number}-x`,
    base: 'main',
    headSha: 'c'.repeat(40),
    state: 'open',
    draft: false,
    labels: [],
    createdAt: 'now',
    updatedAt: 'now',
    mergedAt: null,
    mergeSha: null,
    closedAt: null,
    pushes: [],
    frId: `FR-${number}`,
    sagaId: 's',
    jobId: null,
    ...patch,
  };
}
