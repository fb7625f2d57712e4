import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { ForgeFilesClient } from './forge-files.client.js';
import { notFound, unavailable } from './forge.errors.js';
import type { PullRequestRecord } from './forge.js';

const RECORD_FILE = /^([1-9]\d*)\.json$/;
/** Numbers tried before giving up when other writers keep taking the next one. */
const MAX_ALLOCATION_TRIES = 1000;

function serialize(record: PullRequestRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

/**
 * PR records of one repository as `<dir>/<number>.json`. Numbers are allocated by exclusive
 * creation of the file, so concurrent openers (even in other processes) never share a number;
 * updates replace the file atomically.
 */
@Injectable()
export class PrRecordStore {
  constructor(@Inject(ForgeFilesClient) private readonly files: Pick<ForgeFilesClient, 'list' | 'read' | 'writeAtomic' | 'createExclusive'>) {}

  async numbers(dir: string): Promise<number[]> {
    const names = await this.files.list(dir);
    return names
      .flatMap((n) => {
        const m = RECORD_FILE.exec(n);
        return m ? [Number(m[1])] : [];
      })
      .sort((a, b) => a - b);
  }

  async get(dir: string, number: number): Promise<PullRequestRecord | undefined> {
    const text = await this.files.read(join(dir, `${number}.json`));
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as PullRequestRecord;
    } catch (e) {
      throw unavailable('PR_RECORD_CORRUPT', `PR record ${join(dir, `${number}.json`)} is not valid JSON: ${(e as Error).message}`);
    }
  }

  async list(dir: string): Promise<PullRequestRecord[]> {
    const out: PullRequestRecord[] = [];
    for (const n of await this.numbers(dir)) {
      const r = await this.get(dir, n);
      if (r) out.push(r);
    }
    return out;
  }

  /** Stores a new record under the next free number; `build` receives the number it got. */
  async create(dir: string, build: (number: number) => PullRequestRecord): Promise<PullRequestRecord> {
    const existing = await this.numbers(dir);
    let number = (existing.at(-1) ?? 0) + 1;
    for (let i = 0; i < MAX_ALLOCATION_TRIES; i += 1, number += 1) {
      const record = build(number);
      if (await this.files.createExclusive(join(dir, `${number}.json`), serialize(record))) return record;
    }
    throw unavailable('PR_NUMBER_EXHAUSTED', `no free PR number in ${dir} after ${MAX_ALLOCATION_TRIES} tries`);
  }

  /** Read-change-replace; callers serialize writers of one repository (RepoLocks). */
  async update(dir: string, number: number, change: (current: PullRequestRecord) => PullRequestRecord): Promise<PullRequestRecord> {
    const current = await this.get(dir, number);
    if (!current) throw notFound('PR_NOT_FOUND', `PR #${number} does not exist in ${dir}`);
    const next = change(current);
    await this.files.writeAtomic(join(dir, `${number}.json`), serialize(next));
    return next;
  }
}
