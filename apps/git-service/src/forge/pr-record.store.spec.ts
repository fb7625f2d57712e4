import { MemoryFiles, samplePrRecord } from '../../test/support/fakes.js';
import { ForgeError } from './forge.errors.js';
import type { PullRequestRecord } from './forge.js';
import { PrRecordStore } from './pr-record.store.js';

const DIR = '/forge/example/greeter.prs';

const record = (number: number, patch: Partial<PullRequestRecord> = {}) => samplePrRecord(number, patch);

describe('PrRecordStore', () => {
  let files: MemoryFiles;
  let store: PrRecordStore;

  beforeEach(() => {
    files = new MemoryFiles();
    store = new PrRecordStore(files);
  });

  it('numbers records from 1 and stores each as <number>.json', async () => {
    const first = await store.create(DIR, (n) => record(n));
    const second = await store.create(DIR, (n) => record(n));
    expect([first.number, second.number]).toEqual([1, 2]);
    expect(JSON.parse(files.files.get(`${DIR}/2.json`)!)).toEqual(second);
    expect(await store.get(DIR, 1)).toEqual(first);
    expect(await store.get(DIR, 3)).toBeUndefined();
  });

  it('gives concurrent creators distinct numbers', async () => {
    const made = await Promise.all(Array.from({ length: 8 }, () => store.create(DIR, (n) => record(n))));
    expect(made.map((r) => r.number).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await store.numbers(DIR)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const r of made) expect((await store.get(DIR, r.number))!.number).toBe(r.number);
  });

  it('continues after the highest number and ignores other files', async () => {
    files.files.set(`${DIR}/7.json`, JSON.stringify(record(7)));
    files.files.set(`${DIR}/7.json.1234.tmp`, '{');
    files.files.set(`${DIR}/notes.txt`, 'x');
    files.files.set(`${DIR}/007.json`, '{');
    expect((await store.create(DIR, (n) => record(n))).number).toBe(8);
    expect((await store.list(DIR)).map((r) => r.number)).toEqual([7, 8]);
  });

  it('updates a record in place and refuses an unknown one', async () => {
    await store.create(DIR, (n) => record(n));
    const updated = await store.update(DIR, 1, (r) => ({ ...r, title: 'new' }));
    expect(updated.title).toBe('new');
    expect((await store.get(DIR, 1))!.title).toBe('new');
    await expect(store.update(DIR, 9, (r) => r)).rejects.toMatchObject({ code: 'PR_NOT_FOUND', kind: 'not-found' });
  });

  it('reports a corrupt record by its path', async () => {
    files.files.set(`${DIR}/1.json`, '{ not json');
    const e = await store.get(DIR, 1).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ForgeError);
    expect((e as ForgeError).message).toContain(`${DIR}/1.json is not valid JSON`);
  });

  it('lists nothing for a repository without PRs yet', async () => {
    expect(await store.list(DIR)).toEqual([]);
  });
});
