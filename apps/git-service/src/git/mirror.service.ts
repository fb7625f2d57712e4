import { randomUUID } from 'node:crypto';
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { conflict, invalid, notFound, unavailable } from '../forge/forge.errors.js';
import type { ForgeRepoRef } from '../forge/repo-ref.js';
import { GitServiceConfig } from '../git-service.config.js';
import { GitClient, redactCredentials } from './git.client.js';
import { TokenGitClient, type GitRunner } from './token-git.client.js';

export interface MergeRequest {
  number: number;
  base: string;
  branch: string;
  headSha: string;
  message: string;
}

export interface DiffRequest {
  base: string;
  branch: string;
  headSha: string;
  mergeSha: string | null;
  maxBytes: number;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * git-service's own bare mirror of each repository (WORK_DIR/mirrors/<owner>/<name>.git): bundles
 * from agents are imported into it, pushes to the forge go out of it, merges happen in temporary
 * worktrees of it. Callers hold the repository's lock (RepoLocks) around every call.
 */
@Injectable()
export class MirrorService {
  private readonly root: string;

  constructor(
    private readonly git: GitClient,
    private readonly tokenGit: TokenGitClient,
    config: GitServiceConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {
    this.root = resolve(config.WORK_DIR);
  }

  /**
   * The runner for commands that talk to the repository's forge (clone, fetch, ls-remote, push):
   * on GitHub it carries the token as a header scoped to the clone URL's host; everything
   * local to the mirror runs without it.
   */
  private net(repo: ForgeRepoRef): GitRunner {
    return repo.forge === 'github' ? this.tokenGit.forRemote(repo.cloneUrl) : this.git;
  }

  dirOf(repo: ForgeRepoRef): string {
    return join(this.root, 'mirrors', repo.owner, `${repo.repo}.git`);
  }

  /** Clones the mirror from the repository's clone URL the first time, fetches it every time after. */
  async sync(repo: ForgeRepoRef): Promise<string> {
    const dir = this.dirOf(repo);
    if (!(await exists(join(dir, 'HEAD')))) {
      await mkdir(dirname(dir), { recursive: true });
      const temp = `${dir}.${randomUUID()}.tmp`;
      try {
        await this.net(repo).run(dirname(dir), ['clone', '--bare', '--no-tags', '--', repo.cloneUrl, temp]);
        await rename(temp, dir);
      } catch (e) {
        await rm(temp, { recursive: true, force: true });
        throw unavailable('MIRROR_CLONE_FAILED', `cannot clone ${repo.name} from ${redactCredentials(repo.cloneUrl)}: ${(e as Error).message}`);
      }
      this.logger.info({ repo: repo.name, mirror: dir }, 'mirror cloned');
    } else {
      const url = await this.git.attempt(dir, ['remote', 'get-url', 'origin']);
      if (!url.ok || url.stdout.trim() !== repo.cloneUrl)
        await this.git.run(dir, url.ok ? ['remote', 'set-url', 'origin', repo.cloneUrl] : ['remote', 'add', 'origin', repo.cloneUrl]);
    }
    const fetched = await this.net(repo).attempt(dir, ['fetch', '--prune', '--no-tags', 'origin', '+refs/heads/*:refs/remotes/origin/*']);
    if (!fetched.ok) throw unavailable('MIRROR_FETCH_FAILED', `cannot fetch ${repo.name} from ${redactCredentials(repo.cloneUrl)}: ${fetched.error.message}`);
    return dir;
  }

  /**
   * Brings the commits of a bundle into the mirror, after checking that the bundle's head is the
   * commit the command names; leaves it at refs/agency/bundles/<branch>.
   */
  async importBundle(repo: ForgeRepoRef, bundle: Uint8Array, branch: string, headSha: string): Promise<void> {
    const dir = await this.sync(repo);
    const tmpDir = join(this.root, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const file = join(tmpDir, `${randomUUID()}.bundle`);
    await writeFile(file, bundle);
    try {
      const listed = await this.git.attempt(dir, ['bundle', 'list-heads', file]);
      if (!listed.ok) throw invalid('BUNDLE_INVALID', `the bundle for ${branch} is not a git bundle: ${listed.error.message}`);
      const heads = listed.stdout.split('\n').flatMap((line) => {
        const [sha, ref] = line.trim().split(/\s+/);
        return sha && ref ? [{ sha, ref }] : [];
      });
      const head = heads.find((h) => h.ref === `refs/heads/${branch}` && h.sha === headSha) ?? heads.find((h) => h.sha === headSha);
      if (!head) {
        const seen = heads.map((h) => `${h.ref}=${h.sha}`).join(', ') || 'none';
        throw invalid('BUNDLE_HEAD_MISMATCH', `the bundle for ${branch} does not contain head ${headSha} (its heads: ${seen})`);
      }
      const verified = await this.git.attempt(dir, ['bundle', 'verify', file]);
      if (!verified.ok)
        throw conflict(
          'BUNDLE_PREREQUISITES_MISSING',
          `the bundle for ${branch} builds on commits ${repo.name} does not have (was ${repo.base} rewritten?): ${verified.error.message}`,
        );
      const target = `refs/agency/bundles/${branch}`;
      await this.git.run(dir, ['fetch', '--no-tags', file, `+${head.ref}:${target}`]);
      const got = (await this.git.run(dir, ['rev-parse', '--verify', `${target}^{commit}`])).trim();
      if (got !== headSha) throw invalid('BUNDLE_HEAD_MISMATCH', `the bundle for ${branch} gave ${got}, expected ${headSha}`);
    } finally {
      await rm(file, { force: true });
    }
  }

  /** The sha `ref` has on a remote, or undefined when the remote has no such ref. */
  async remoteSha(repo: ForgeRepoRef, remoteUrl: string, ref: string): Promise<string | undefined> {
    const out = await this.net(repo).attempt(this.dirOf(repo), ['ls-remote', '--', remoteUrl, ref]);
    if (!out.ok) throw unavailable('FORGE_UNREACHABLE', `cannot read ${ref} of ${repo.name}: ${out.error.message}`);
    // ls-remote matches patterns by their tail (refs/heads/x also matches refs/heads/y/refs/heads/x): keep the exact one.
    for (const line of out.stdout.split('\n')) {
      const [sha, name] = line.trim().split(/\s+/);
      if (sha && name === ref) return sha;
    }
    return undefined;
  }

  /**
   * Points the remote's branch at `headSha` with a normal push. A branch already there must be
   * an ancestor of the new head (fix rounds add commits); anything else is refused, never forced.
   */
  async pushBranch(repo: ForgeRepoRef, remoteUrl: string, branch: string, headSha: string): Promise<{ pushed: boolean; behind?: boolean }> {
    const dir = this.dirOf(repo);
    const ref = `refs/heads/${branch}`;
    const current = await this.remoteSha(repo, remoteUrl, ref);
    if (current === headSha) return { pushed: false };
    if (current) {
      await this.fetchRefs(repo, remoteUrl, [branch]);
      // An older round's command delivered late: the branch is already past it. Nothing to push.
      if (await this.isAncestor(dir, headSha, current)) return { pushed: false, behind: true };
      if (!(await this.isAncestor(dir, current, headSha))) {
        throw conflict(
          'BRANCH_DIVERGED',
          `${branch} on the forge is at ${current}, which is not an ancestor of ${headSha}; refusing to force-push (someone else changed the branch?)`,
        );
      }
    }
    const pushed = await this.net(repo).attempt(dir, ['push', '--porcelain', '--', remoteUrl, `${headSha}:${ref}`]);
    if (!pushed.ok) throw unavailable('PUSH_REJECTED', `push of ${headSha} to ${branch} of ${repo.name} failed: ${pushed.error.message}`);
    this.logger.info({ repo: repo.name, branch, headSha, previous: current ?? null }, 'branch pushed');
    return { pushed: true };
  }

  /**
   * Deletes the remote's branch, only while it is still where it was read (a push of new work
   * in between makes the delete fail instead of losing it). False when there was no branch.
   */
  async deleteBranch(repo: ForgeRepoRef, remoteUrl: string, branch: string): Promise<boolean> {
    const ref = `refs/heads/${branch}`;
    const current = await this.remoteSha(repo, remoteUrl, ref);
    if (!current) return false;
    const out = await this.net(repo).attempt(this.dirOf(repo), ['push', '--porcelain', `--force-with-lease=${ref}:${current}`, '--', remoteUrl, `:${ref}`]);
    if (!out.ok) throw unavailable('BRANCH_DELETE_REJECTED', `deleting ${branch} of ${repo.name} was rejected (did it move?): ${out.error.message}`);
    this.logger.info({ repo: repo.name, branch, was: current }, 'branch deleted');
    return true;
  }

  /**
   * Merges `headSha` into the remote's base with a merge commit, made in a temporary worktree
   * and pushed as a normal push. If the head is already in the base (a merge whose record was
   * not saved), returns the merge commit that brought it instead of merging again.
   */
  async merge(repo: ForgeRepoRef, remoteUrl: string, req: MergeRequest): Promise<{ mergeSha: string; alreadyMerged: boolean }> {
    const dir = await this.sync(repo);
    const baseRef = await this.fetchBase(repo, remoteUrl, req.base);
    await this.ensureCommit(repo, remoteUrl, req.branch, req.headSha);
    const baseTip = (await this.git.run(dir, ['rev-parse', '--verify', `${baseRef}^{commit}`])).trim();
    if (await this.isAncestor(dir, req.headSha, baseTip)) {
      return { mergeSha: await this.findMergeOf(dir, req, baseTip), alreadyMerged: true };
    }
    const worktree = join(this.root, 'worktrees', randomUUID());
    await mkdir(dirname(worktree), { recursive: true });
    await this.git.run(dir, ['worktree', 'add', '--detach', worktree, baseTip]);
    try {
      const merged = await this.git.attempt(worktree, ['merge', '--no-ff', '--no-edit', '-m', req.message, req.headSha]);
      if (!merged.ok) {
        const unmerged = await this.git.attempt(worktree, ['diff', '--name-only', '--diff-filter=U']);
        const files = unmerged.ok ? unmerged.stdout.split('\n').filter(Boolean) : [];
        throw conflict(
          'MERGE_CONFLICT',
          `PR #${req.number} (${req.branch}) does not merge cleanly into ${req.base}${files.length ? `; conflicts in ${files.join(', ')}` : `: ${merged.error.message}`}`,
        );
      }
      const mergeSha = (await this.git.run(worktree, ['rev-parse', 'HEAD'])).trim();
      const pushed = await this.git.attempt(dir, ['push', '--porcelain', '--', remoteUrl, `${mergeSha}:refs/heads/${req.base}`]);
      if (!pushed.ok)
        throw unavailable('BASE_MOVED', `push of the merge of PR #${req.number} to ${req.base} was rejected (did ${req.base} move?): ${pushed.error.message}`);
      this.logger.info({ repo: repo.name, base: req.base, mergeSha, number: req.number }, 'PR merged into base');
      return { mergeSha, alreadyMerged: false };
    } finally {
      await this.git.attempt(dir, ['worktree', 'remove', '--force', worktree]);
      await rm(worktree, { recursive: true, force: true });
      await this.git.attempt(dir, ['worktree', 'prune']);
    }
  }

  /** The PR's changes: against the merge base while open, the merge commit's own change once merged. */
  async diff(repo: ForgeRepoRef, remoteUrl: string, req: DiffRequest): Promise<{ from: string; to: string; patch: string; truncated: boolean }> {
    const dir = await this.sync(repo);
    const baseRef = await this.fetchBase(repo, remoteUrl, req.base);
    let from: string;
    let to: string;
    if (req.mergeSha) {
      to = req.mergeSha;
      from = (await this.git.run(dir, ['rev-parse', '--verify', `${req.mergeSha}^1`])).trim();
    } else {
      await this.ensureCommit(repo, remoteUrl, req.branch, req.headSha);
      to = req.headSha;
      from = (await this.git.run(dir, ['merge-base', baseRef, req.headSha])).trim();
    }
    const patch = await this.git.run(dir, ['diff', '--no-ext-diff', '--no-textconv', '--no-color', from, to]);
    const bytes = Buffer.from(patch, 'utf8');
    if (bytes.byteLength <= req.maxBytes) return { from, to, patch, truncated: false };
    return { from, to, patch: bytes.subarray(0, req.maxBytes).toString('utf8'), truncated: true };
  }

  private async fetchRefs(repo: ForgeRepoRef, remoteUrl: string, branches: string[]): Promise<void> {
    const specs = branches.map((b) => `+refs/heads/${b}:refs/forge/heads/${b}`);
    const out = await this.net(repo).attempt(this.dirOf(repo), ['fetch', '--no-tags', '--', remoteUrl, ...specs]);
    if (!out.ok) throw unavailable('FORGE_FETCH_FAILED', `cannot fetch ${branches.join(', ')} of ${repo.name}: ${out.error.message}`);
  }

  private async fetchBase(repo: ForgeRepoRef, remoteUrl: string, base: string): Promise<string> {
    if (!(await this.remoteSha(repo, remoteUrl, `refs/heads/${base}`))) throw notFound('BASE_MISSING', `${repo.name} has no branch ${base} on the forge`);
    await this.fetchRefs(repo, remoteUrl, [base]);
    return `refs/forge/heads/${base}`;
  }

  /** Makes sure the mirror has `sha`, fetching the PR branch when it does not (a fresh WORK_DIR). */
  private async ensureCommit(repo: ForgeRepoRef, remoteUrl: string, branch: string, sha: string): Promise<void> {
    const dir = this.dirOf(repo);
    if ((await this.git.attempt(dir, ['cat-file', '-e', `${sha}^{commit}`])).ok) return;
    if (await this.remoteSha(repo, remoteUrl, `refs/heads/${branch}`)) await this.fetchRefs(repo, remoteUrl, [branch]);
    if (!(await this.git.attempt(dir, ['cat-file', '-e', `${sha}^{commit}`])).ok)
      throw notFound('HEAD_MISSING', `commit ${sha} of ${branch} is neither in the mirror nor on the forge`);
  }

  private async isAncestor(dir: string, ancestor: string, descendant: string): Promise<boolean> {
    const r = await this.git.attempt(dir, ['merge-base', '--is-ancestor', ancestor, descendant]);
    if (r.ok) return true;
    if (r.error.exitCode === 1) return false;
    throw r.error;
  }

  /** The merge commit that brought `headSha` into the base: ours by its message, else the first commit after it. */
  private async findMergeOf(dir: string, req: MergeRequest, baseTip: string): Promise<string> {
    if (req.headSha === baseTip) return baseTip;
    const ours = (
      await this.git.run(dir, ['log', '-n', '1', '--merges', '--format=%H', '--fixed-strings', `--grep=Merge PR #${req.number}: `, baseTip])
    ).trim();
    if (ours) return ours;
    const path = (await this.git.run(dir, ['rev-list', '--ancestry-path', '--reverse', `${req.headSha}..${baseTip}`])).split('\n').filter(Boolean);
    return path[0] ?? baseTip;
  }
}
