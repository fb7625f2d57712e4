import { lockFilesOf, lockHash, registriesFor } from './lock-files.js';

const tree = (...entries: Array<[string, string]>) => entries.map(([oid, path]) => `100644 blob ${oid}\t${path}`).join('\0') + '\0';

describe('lock files', () => {
  it('finds the lock files of every ecosystem at any depth, and nothing else', () => {
    const files = lockFilesOf(
      tree(
        ['a1', 'package.json'],
        ['a2', 'package-lock.json'],
        ['a3', 'py/requirements-dev.txt'],
        ['a4', 'svc/go.sum'],
        ['a5', 'src/index.js'],
        ['a6', 'Cargo.lock'],
        ['a7', 'web/pnpm-lock.yaml'],
      ),
    );
    expect(files.map((f) => [f.path, f.ecosystem])).toEqual([
      ['Cargo.lock', 'cargo'],
      ['package-lock.json', 'npm'],
      ['py/requirements-dev.txt', 'python'],
      ['svc/go.sum', 'go'],
      ['web/pnpm-lock.yaml', 'npm'],
    ]);
  });

  it('takes a manifest where its directory has no lock file of its ecosystem (most small npm libraries ship none)', () => {
    const files = lockFilesOf(
      tree(
        ['d1', 'package.json'],
        ['d2', 'tools/package.json'],
        ['e2', 'tools/yarn.lock'],
        ['d3', 'pyproject.toml'],
        ['d4', 'svc/go.mod'],
        ['e4', 'svc/go.sum'],
        ['d5', 'README.md'],
      ),
    );
    expect(files.map((f) => [f.path, f.ecosystem])).toEqual([
      ['package.json', 'npm'],
      ['pyproject.toml', 'python'],
      ['svc/go.sum', 'go'],
      ['tools/yarn.lock', 'npm'],
    ]);
    // Without a lock file, a changed package.json is a new environment, and npm's registries are allowed.
    expect(lockHash(lockFilesOf(tree(['d1', 'package.json'])))).not.toBe(lockHash(lockFilesOf(tree(['d9', 'package.json']))));
    expect(registriesFor(undefined, lockFilesOf(tree(['d1', 'package.json'])))).toEqual(['registry.npmjs.org', 'registry.yarnpkg.com', 'repo.yarnpkg.com']);
  });

  it('hashes paths and contents: any change to either changes the hash, order does not', () => {
    const base = lockHash(lockFilesOf(tree(['a1', 'package-lock.json'], ['b1', 'go.sum'])));
    expect(lockHash(lockFilesOf(tree(['b1', 'go.sum'], ['a1', 'package-lock.json'])))).toBe(base);
    expect(lockHash(lockFilesOf(tree(['a2', 'package-lock.json'], ['b1', 'go.sum'])))).not.toBe(base);
    expect(lockHash(lockFilesOf(tree(['a1', 'sub/package-lock.json'], ['b1', 'go.sum'])))).not.toBe(base);
    expect(lockHash([])).toMatch(/^[0-9a-f]{64}$/);
  });

  it("allows the repository's registries, else its ecosystems' public ones", () => {
    const files = lockFilesOf(tree(['a1', 'package-lock.json'], ['a2', 'requirements.txt']));
    expect(registriesFor(undefined, files)).toEqual(['registry.npmjs.org', 'registry.yarnpkg.com', 'repo.yarnpkg.com', 'pypi.org', 'files.pythonhosted.org']);
    expect(registriesFor(['npm.internal:8443'], files)).toEqual(['npm.internal:8443']);
    expect(registriesFor(undefined, [])).toEqual([]);
  });
});
