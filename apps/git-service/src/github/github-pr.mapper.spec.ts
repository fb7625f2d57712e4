import { repoRef } from '../forge/repo-ref.js';
import { frIdOfBranch, prStateOf, toPullRecord, type GhPullLike } from './github-pr.mapper.js';

const repo = repoRef({ name: 'octo/greeter', cloneUrl: 'https://github.com/octo/greeter.git', base: 'main', forge: 'github' });

function pull(patch: Partial<GhPullLike> = {}): GhPullLike {
  return {
    number: 3,
    html_url: 'https://github.com/octo/greeter/pull/3',
    title: 'FR-12: X',
    body: 'text\n<!-- agency: fr=FR-12 saga=saga-m job=job-m content=abc -->',
    state: 'open',
    draft: true,
    created_at: '2026-11-24T09:00:00Z',
    updated_at: '2026-11-24T09:10:00Z',
    merged_at: null,
    merge_commit_sha: 'f'.repeat(40),
    closed_at: null,
    head: { ref: 'agency/FR-12-x', sha: 'a'.repeat(40) },
    base: { ref: 'main' },
    labels: [{ name: 'agency' }, { name: 'tier:small' }],
    ...patch,
  };
}

describe('toPullRecord', () => {
  it('maps a GitHub PR, ignoring the test-merge sha of an open PR', () => {
    expect(toPullRecord(repo, pull())).toEqual({
      number: 3,
      url: 'https://github.com/octo/greeter/pull/3',
      repo: 'octo/greeter',
      title: 'FR-12: X',
      body: pull().body,
      branch: 'agency/FR-12-x',
      base: 'main',
      headSha: 'a'.repeat(40),
      state: 'open',
      draft: true,
      labels: ['agency', 'tier:small'],
      createdAt: '2026-11-24T09:00:00Z',
      updatedAt: '2026-11-24T09:10:00Z',
      mergedAt: null,
      mergeSha: null,
      closedAt: null,
      pushes: [],
      frId: 'FR-12',
      sagaId: 'saga-m',
      jobId: 'job-m',
    });
  });

  it('prefers git-service’s own record of the run over the body marker, and falls back to the branch for the FR', () => {
    const origin = { frId: 'FR-12', sagaId: 'saga-kv', branch: 'agency/FR-12-x', pushes: [{ headSha: 'a'.repeat(40), at: 't' }] };
    expect(toPullRecord(repo, pull(), origin)).toMatchObject({ sagaId: 'saga-kv', jobId: null, pushes: origin.pushes });
    expect(toPullRecord(repo, pull({ body: null }))).toMatchObject({ frId: 'FR-12', sagaId: '', jobId: null, body: '' });
  });

  it('tells merged from closed', () => {
    expect(prStateOf({ state: 'closed', merged_at: '2026-11-24T10:00:00Z' })).toBe('merged');
    expect(prStateOf({ state: 'closed', merged_at: null })).toBe('closed');
    expect(toPullRecord(repo, pull({ state: 'closed', merged_at: '2026-11-24T10:00:00Z' })).mergeSha).toBe('f'.repeat(40));
  });
});

describe('frIdOfBranch', () => {
  it.each([
    ['agency/FR-12-x', 'FR-12'],
    ['agency/FR-12', 'FR-12'],
    ['agency/BUG-7-crash', 'BUG-7'],
    ['agency/FR-12x', undefined],
    ['feature/FR-12-x', undefined],
  ])('%s -> %s', (branch, id) => {
    expect(frIdOfBranch(branch)).toBe(id);
  });
});
