import { FixedClock } from '../../test/support/fakes.js';
import { conflict } from '../forge/forge.errors.js';
import { repoRef } from '../forge/repo-ref.js';
import type { GitServiceConfig } from '../git-service.config.js';
import type { GhPull } from './github-api.client.js';
import { GitHubForge, isAgencyLabel, nextLabels } from './github-forge.service.js';

const repo = repoRef({ name: 'octo/greeter', cloneUrl: 'https://github.com/octo/greeter.git', base: 'main', forge: 'github' });

function ghPull(patch: Partial<GhPull> = {}): GhPull {
  return {
    number: 1,
    node_id: 'PR_1',
    html_url: 'https://github.com/octo/greeter/pull/1',
    title: 'FR-1: X',
    body: '',
    state: 'open',
    draft: false,
    merged_at: null,
    merge_commit_sha: null,
    closed_at: null,
    created_at: 't',
    updated_at: 't',
    head: { ref: 'agency/FR-1-x', sha: 'a'.repeat(40) },
    base: { ref: 'main' },
    labels: [],
    mergeable: true,
    mergeable_state: 'clean',
    ...patch,
  } as unknown as GhPull;
}

describe('GitHubForge', () => {
  it('keeps human labels and replaces its own', () => {
    expect(nextLabels(['bug', 'agency', 'tier:small', 'agency:in-progress'], ['agency', 'tier:medium'])).toEqual(['bug', 'agency', 'tier:medium']);
    expect(['agency', 'agency:needs-human', 'tier:x', 'agencyx', 'needs-docs'].map(isAgencyLabel)).toEqual([true, true, true, false, false]);
  });

  it('treats a merge whose answer failed but which GitHub shows merged as a merge, and refuses a PR that does not merge cleanly', async () => {
    let state: GhPull = ghPull();
    const calls: string[] = [];
    const api = {
      getPull: async () => state,
      checksOf: async () => ({ failing: [], pending: [] }),
      merge: async () => {
        calls.push('merge');
        state = ghPull({ state: 'closed', merged_at: 'now', merge_commit_sha: 'm'.repeat(40) });
        throw conflict('GITHUB_UNPROCESSABLE', 'lost answer');
      },
    };
    const origins = {
      get: async () => undefined,
      record: async () => {
        throw new Error('not used');
      },
      markAnnounced: async () => undefined,
    };
    const forge = new GitHubForge(api as never, { pushBranch: async () => ({ pushed: false }) }, origins, new FixedClock(), {
      DIFF_MAX_BYTES: 1000,
      GITHUB_TOKEN: 't',
    } as GitServiceConfig);
    expect(await forge.merge(repo, 1, 'merge', { allowDraft: false })).toMatchObject({
      alreadyMerged: true,
      pr: { state: 'merged', mergeSha: 'm'.repeat(40) },
    });
    expect(calls).toEqual(['merge']);

    state = ghPull({ mergeable: false, mergeable_state: 'dirty' });
    await expect(forge.merge(repo, 1, 'merge', { allowDraft: false })).rejects.toMatchObject({ code: 'MERGE_CONFLICT', kind: 'conflict' });
    expect(calls).toEqual(['merge']);
  });
});
