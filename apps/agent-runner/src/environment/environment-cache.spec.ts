import { linkSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, type TempDir } from '@agency/testing';
import type { AgentRunnerConfig } from '../agent-runner.config.js';
import { ARCHIVE_NAME, cacheKeyOf, EnvironmentCache } from './environment-cache.js';

const meta = (key: string) => ({ key, repo: 'acme/app', imageId: 'sha256:1', setupCommand: 'npm ci', lockHash: 'h', paths: ['node_modules/'], setupMs: 1000 });

describe('EnvironmentCache', () => {
  let dir: TempDir;
  let cache: EnvironmentCache;
  const user = { uid: process.getuid?.() ?? 1000, gid: process.getgid?.() ?? 1000 };

  beforeEach(() => {
    dir = tempDir('env-cache-');
    cache = new EnvironmentCache({ WORK_DIR: dir.path, ENV_CACHE_MAX_MB: 1 } as AgentRunnerConfig);
  });
  afterEach(() => dir.remove());

  it('keys by repository, image, setup command and lock files', () => {
    const k = { repo: 'acme/app', imageId: 'sha256:1', setupCommand: 'npm ci', lockHash: 'h' };
    expect(cacheKeyOf(k)).toMatch(/^[0-9a-f]{64}$/);
    for (const change of [{ repo: 'acme/other' }, { imageId: 'sha256:2' }, { setupCommand: 'npm install' }, { lockHash: 'h2' }])
      expect(cacheKeyOf({ ...k, ...change })).not.toBe(cacheKeyOf(k));
  });

  it('stores a plain archive read-only under its key, never over an existing entry, and finds it', () => {
    const incoming = cache.incoming(user);
    writeFileSync(join(incoming, ARCHIVE_NAME), 'tar bytes');
    expect(cache.store(incoming, meta('k1'))).toEqual({ stored: true, sizeBytes: 9 });
    const hit = cache.lookup('k1')!;
    expect(statSync(hit.archive).mode & 0o777).toBe(0o444);
    expect(hit.meta).toMatchObject({ key: 'k1', paths: ['node_modules/'], sizeBytes: 9 });

    const again = cache.incoming(user);
    writeFileSync(join(again, ARCHIVE_NAME), 'other bytes');
    expect(cache.store(again, meta('k1'))).toEqual({ stored: false, reason: 'an entry for the key exists already' });
    expect(statSync(hit.archive).size).toBe(9);
    expect(cache.lookup('nope')).toBeUndefined();
  });

  it('takes nothing but a plain single-link file from what a sandbox left', () => {
    const outside = join(dir.path, 'host-secret');
    writeFileSync(outside, 'secret');
    const viaLink = cache.incoming(user);
    symlinkSync(outside, join(viaLink, ARCHIVE_NAME));
    expect(cache.store(viaLink, meta('k2'))).toEqual({ stored: false, reason: `the sandbox left no plain ${ARCHIVE_NAME}` });
    const viaHardLink = cache.incoming(user);
    linkSync(outside, join(viaHardLink, ARCHIVE_NAME));
    expect(cache.store(viaHardLink, meta('k3'))).toEqual({ stored: false, reason: `the sandbox left no plain ${ARCHIVE_NAME}` });
    const asDir = cache.incoming(user);
    mkdirSync(join(asDir, ARCHIVE_NAME));
    expect(cache.store(asDir, meta('k4')).stored).toBe(false);
    // Incoming folders are gone either way.
    expect(readdirSync(join(cache.root, 'incoming'))).toEqual([]);
  });

  it('evicts the least recently used entries past ENV_CACHE_MAX_MB', () => {
    const put = (key: string, bytes: number) => {
      const incoming = cache.incoming(user);
      writeFileSync(join(incoming, ARCHIVE_NAME), Buffer.alloc(bytes));
      return cache.store(incoming, meta(key));
    };
    expect(put('old', 600_000).stored).toBe(true);
    expect(put('new', 600_000).stored).toBe(true);
    expect(cache.lookup('old')).toBeUndefined();
    expect(cache.lookup('new')).toBeDefined();
    expect(put('huge', 2_000_000)).toMatchObject({ stored: false, reason: expect.stringContaining('larger than ENV_CACHE_MAX_MB') });
  });
});
