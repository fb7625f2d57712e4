import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, type TempDir } from '@agency/testing';
import { ForgeFilesClient } from '../src/forge/forge-files.client.js';
import type { PullRequestRecord } from '../src/forge/forge.js';
import { PrRecordStore } from '../src/forge/pr-record.store.js';
import { samplePrRecord } from './support/fakes.js';

describe('PR records on a real file system', () => {
  let dir: TempDir;
  let records: string;
  const files = new ForgeFilesClient();
  const store = new PrRecordStore(files);

  const record = (number: number): PullRequestRecord => samplePrRecord(number, { title: `PR ${number}`, body: 'x'.repeat(50_000) });

  beforeEach(() => {
    dir = tempDir('pr-records-');
    records = join(dir.path, 'example', 'greeter.prs');
  });

  afterEach(() => dir.remove());

  it('gives 20 concurrent creators 20 distinct numbers, each file whole', async () => {
    const made = await Promise.all(Array.from({ length: 20 }, () => store.create(records, (n) => record(n))));
    expect(made.map((r) => r.number).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const names = readdirSync(records).sort();
    expect(names).toHaveLength(20);
    expect(names.every((n) => /^\d+\.json$/.test(n))).toBe(true);
    for (const r of made)
      expect(JSON.parse(readFileSync(join(records, `${r.number}.json`), 'utf8'))).toMatchObject({ number: r.number, title: `PR ${r.number}` });
  });

  it('never overwrites an existing number and leaves no temp files behind', async () => {
    await store.create(records, (n) => record(n));
    expect(await files.createExclusive(join(records, '1.json'), '{"intruder":true}')).toBe(false);
    expect(JSON.parse(readFileSync(join(records, '1.json'), 'utf8')).title).toBe('PR 1');
    await store.update(records, 1, (r) => ({ ...r, title: 'renamed' }));
    expect(JSON.parse(readFileSync(join(records, '1.json'), 'utf8')).title).toBe('renamed');
    expect(readdirSync(records)).toEqual(['1.json']);
  });

  it('skips what is not a record', async () => {
    await store.create(records, (n) => record(n));
    writeFileSync(join(records, 'README'), 'hello');
    writeFileSync(join(records, '2.json.abc.tmp'), '{');
    expect((await store.list(records)).map((r) => r.number)).toEqual([1]);
  });
});
