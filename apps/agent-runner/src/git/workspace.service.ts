import { createHash, randomUUID } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { RepoTargetDto, WorkspaceRefDto } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { ArtifactStore, PermanentError } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { AgentRunnerConfig } from '../agent-runner.config.js';
import { openUpTree, removeTree } from '../files/tree-removal.js';
import { StepFailure } from '../steps/step-failure.js';
import { isSafeRefName, slugify } from './branch-name.js';
import { GIT_IDENTITY, GitClient, redactCredentials } from './git.client.js';
import { JobRecordRepository, type JobRecord } from './job-record.repository.js';
import { KeyedMutex } from './keyed-mutex.js';
import { MirrorSource } from './mirror-source.js';
import { JobDisks } from '../sandbox/docker/job-disks.js';

/**
 * What one round may hand over, whatever an agent committed: the bundle is read into memory and
 * stored as an artifact, the diff is kept as text (the reviewer reads far less of it).
 */
export const WORK_LIMITS = { bundleBytes: 256 * 1024 * 1024, diffBytes: 10 * 1024 * 1024 } as const;

/** A job's worktree, checked out on its branch. */
export interface JobWorkspace {
  jobId: string;
  dir: string;
  branch: string;
  baseSha: string;
  mirrorDir: string;
  /** git's own directory for the worktree (inside the mirror); git is always pointed at it explicitly. */
  gitDir: string;
}

export interface TreeFile {
  path: string;
  size: number;
}

/** The job's work since its base, as it leaves the runner. */
export interface ExportedWork {
  headSha: string;
  bundle: Uint8Array;
  diff: string;
  filesChanged: string[];
  commits: number;
}

/**
 * Mirrors and worktrees. One bare mirror per repository (cloned once, then fetched), one
 * worktree per job on its own branch. Every git operation on a mirror or its worktrees runs under
 * that mirror's lock, so jobs in parallel never race on refs, FETCH_HEAD or worktree metadata.
 *
 * Sandboxed commands can write anything into a worktree, its `.git` file included; so host git
 * never discovers the repository from the worktree: it gets `--git-dir` (the worktree's directory
 * inside the mirror, recorded when the worktree was made) and `--work-tree` explicitly. Worktrees
 * are locked, so `worktree prune` keeps one whose directory is away in a sandbox slot.
 */
@Injectable()
export class WorkspaceService {
  private readonly root: string;
  private readonly source: MirrorSource;

  constructor(
    config: AgentRunnerConfig,
    private readonly git: GitClient,
    private readonly locks: KeyedMutex,
    private readonly records: JobRecordRepository,
    private readonly artifacts: ArtifactStore,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
    @Optional() source?: MirrorSource,
    @Optional() private readonly disks?: JobDisks,
  ) {
    this.source = source ?? new MirrorSource(config, git);
    // Absolute: git runs commands from the mirror's directory, where a relative path would mean something else.
    this.root = resolve(config.WORK_DIR);
  }

  mirrorDirOf(repo: RepoTargetDto): string {
    const hash = createHash('sha256').update(repo.cloneUrl).digest('hex').slice(0, 12);
    return join(this.root, 'mirrors', `${slugify(repo.name, 60) || 'repo'}-${hash}.git`);
  }

  worktreeDirOf(jobId: string): string {
    // The envelope's id alphabet allows "." and "..": never let a job id name a parent directory.
    if (!/^[A-Za-z0-9_.-]+$/.test(jobId) || /^\.+$/.test(jobId)) throw new PermanentError(`job id "${jobId}" cannot name a worktree directory`, 'BAD_JOB_ID');
    return join(this.root, 'worktrees', jobId);
  }

  /** Fetches the mirror (cloning it the first time) and resolves the base branch to a commit. */
  async baseOf(repo: RepoTargetDto): Promise<{ mirrorDir: string; baseSha: string }> {
    const mirrorDir = this.mirrorDirOf(repo);
    return this.locks.run(mirrorDir, async () => ({ mirrorDir, baseSha: await this.fetchBase(repo, mirrorDir) }));
  }

  /** Files of a commit with their sizes (blobs only; submodules are left out). */
  async listFiles(dir: string, rev: string): Promise<TreeFile[]> {
    const out = await this.git.run(dir, ['ls-tree', '-r', '-l', '-z', '--full-tree', rev]);
    const files: TreeFile[] = [];
    for (const entry of out.split('\0')) {
      const m = entry.match(/^\d+ blob [0-9a-f]+\s+(\d+)\t(.+)$/s);
      if (m) files.push({ path: m[2]!, size: Number(m[1]) });
    }
    return files;
  }

  /**
   * The worktree of a first code round: created from the base on first use, otherwise reset to
   * where the branch started. `baseSha`, when the caller resolved the base moments ago (the
   * planner did), is used as it is while the mirror has it: no second fetch.
   */
  async openFresh(jobId: string, repo: RepoTargetDto, branch: string, baseSha?: string): Promise<JobWorkspace> {
    this.checkBranch(branch);
    const dir = this.worktreeDirOf(jobId);
    const mirrorDir = this.mirrorDirOf(repo);
    return this.locks.run(mirrorDir, async () => {
      const known = this.records.get(jobId);
      if (known && known.mirrorDir === mirrorDir && known.branch === branch && this.isWorktree(known, dir)) {
        this.pin(known);
        const ws = this.workspaceOf(known);
        await this.checkoutAt(ws, branch, known.baseSha);
        return ws;
      }
      await this.discard(jobId, dir, known);
      const base = baseSha !== undefined && (await this.hasCommit(mirrorDir, baseSha)) ? baseSha : await this.fetchBase(repo, mirrorDir);
      const record: JobRecord = { jobId, repo: repo.name, mirrorDir, worktreeDir: dir, branch, baseSha: base, createdAt: new Date().toISOString() };
      this.records.save(record);
      Object.assign(record, await this.addWorktree(mirrorDir, dir, branch, base));
      this.records.save(record);
      this.logger.info({ jobId, branch, baseSha: base, dir }, 'worktree created');
      return this.workspaceOf(record);
    });
  }

  /**
   * The worktree at an earlier round's head. When this runner does not have it (another runner
   * did that round, or the disk was wiped) it is rebuilt from the round's bundle artifact.
   */
  async openAt(jobId: string, repo: RepoTargetDto, ws: WorkspaceRefDto): Promise<JobWorkspace> {
    this.checkBranch(ws.branch);
    const dir = this.worktreeDirOf(jobId);
    const mirrorDir = this.mirrorDirOf(repo);
    return this.locks.run(mirrorDir, async () => {
      if (!existsSync(mirrorDir)) await this.syncMirror(repo, mirrorDir);
      let imported = false;
      if (!(await this.hasCommit(mirrorDir, ws.headSha))) {
        await this.syncMirror(repo, mirrorDir);
        await this.importBundle(mirrorDir, jobId, ws);
        imported = true;
      }
      const known = this.records.get(jobId);
      const record: JobRecord = {
        jobId,
        repo: repo.name,
        mirrorDir,
        worktreeDir: dir,
        branch: ws.branch,
        baseSha: ws.baseSha,
        createdAt: known?.createdAt ?? new Date().toISOString(),
      };
      if (known && known.mirrorDir === mirrorDir && known.branch === ws.branch && this.isWorktree(known, dir)) {
        if (known.gitDir) record.gitDir = known.gitDir;
        this.pin(record);
        await this.checkoutAt(this.workspaceOf(record), ws.branch, ws.headSha);
      } else {
        await this.discard(jobId, dir, known);
        this.records.save(record);
        Object.assign(record, await this.addWorktree(mirrorDir, dir, ws.branch, ws.headSha));
        this.records.save(record);
        this.logger.info({ jobId, branch: ws.branch, headSha: ws.headSha, fromBundle: imported ? ws.bundle.key : undefined }, 'worktree recreated');
      }
      if (imported) await this.git.attempt(mirrorDir, ['update-ref', '-d', incomingRef(jobId)]);
      return this.workspaceOf(record);
    });
  }

  /** The worktree's current commit. */
  async headOf(job: JobWorkspace): Promise<string> {
    return (await this.git.runInTree(job, ['rev-parse', 'HEAD'])).trim();
  }

  /**
   * Stages `paths` (every change in the worktree when omitted) and commits; undefined when
   * nothing changed. Only named paths keep what a sandboxed command left lying around
   * (a node_modules, a build output) out of the commit.
   */
  async commit(job: JobWorkspace, subject: string, body: string, paths?: readonly string[]): Promise<string | undefined> {
    return this.locks.run(job.mirrorDir, async () => {
      if (paths) {
        if (paths.length === 0) return undefined;
        // Literal pathspecs: a file named "*.js" is that file, not a glob.
        await this.git.runInTree(job, ['add', '-A', '--', ...paths.map((p) => `:(literal)${p}`)]);
      } else {
        await this.git.runInTree(job, ['add', '-A']);
      }
      const staged = await this.git.attemptInTree(job, ['diff', '--cached', '--quiet']);
      if (staged.ok) return undefined;
      if (staged.error.exitCode !== 1) throw staged.error;
      const author = `${GIT_IDENTITY.name} <${GIT_IDENTITY.email}>`;
      await this.git.runInTree(job, ['commit', '--no-verify', '--no-gpg-sign', `--author=${author}`, '-m', subject, '-m', body]);
      return (await this.git.runInTree(job, ['rev-parse', 'HEAD'])).trim();
    });
  }

  /** Bundle (base..branch), diff, changed files and commit count of the job's work so far. */
  async exportWork(job: JobWorkspace): Promise<ExportedWork> {
    return this.locks.run(job.mirrorDir, async () => {
      const { headSha, bundle } = await this.bundleOf(job);
      const capped = await this.git.runCapped(
        job.mirrorDir,
        ['diff', '--no-ext-diff', '--no-textconv', '--no-color', job.baseSha, headSha],
        WORK_LIMITS.diffBytes,
      );
      const diff = capped.truncated ? `${capped.stdout}\n[diff cut at ${WORK_LIMITS.diffBytes} bytes: the change is larger]\n` : capped.stdout;
      const names = await this.git.run(job.mirrorDir, ['diff', '--no-ext-diff', '--name-only', '-z', job.baseSha, headSha]);
      const commits = Number((await this.git.run(job.mirrorDir, ['rev-list', '--count', `${job.baseSha}..${headSha}`])).trim());
      return { headSha, bundle, diff, filesChanged: names.split('\0').filter(Boolean), commits };
    });
  }

  /** The job's commits as a bundle (base..branch) and its head, without the diff (a live handover needs no more). */
  async exportBundle(job: JobWorkspace): Promise<Pick<ExportedWork, 'headSha' | 'bundle'>> {
    return this.locks.run(job.mirrorDir, () => this.bundleOf(job));
  }

  private async bundleOf(job: JobWorkspace): Promise<Pick<ExportedWork, 'headSha' | 'bundle'>> {
    const headSha = (await this.git.runInTree(job, ['rev-parse', 'HEAD'])).trim();
    const tmpDir = join(this.root, 'tmp');
    mkdirSync(tmpDir, { recursive: true });
    const file = join(tmpDir, `${randomUUID()}.bundle`);
    try {
      // The bundle names refs/heads/<branch>, which git-service looks for.
      await this.git.run(job.mirrorDir, ['bundle', 'create', file, `^${job.baseSha}`, `refs/heads/${job.branch}`]);
      // Checked before it is read: an agent's commits decide how large it is.
      const size = (await stat(file)).size;
      if (size > WORK_LIMITS.bundleBytes)
        throw new StepFailure(
          'WORK_TOO_LARGE',
          `the job's commits make a bundle of ${size} bytes, more than the ${WORK_LIMITS.bundleBytes} a round may hand over; commit less (generated or binary files?)`,
        );
      return { headSha, bundle: new Uint8Array(await readFile(file)) };
    } finally {
      await rm(file, { force: true });
    }
  }

  /** Removes the job's worktree and its local branch; false when there was no worktree. */
  async remove(jobId: string): Promise<boolean> {
    const dir = this.worktreeDirOf(jobId);
    const known = this.records.get(jobId);
    // lstat, not exists: a link whose slot is gone is still something to remove.
    const present = () => lstatSync(dir, { throwIfNoEntry: false }) !== undefined;
    if (!known) {
      const existed = present();
      await this.disks?.release(dir);
      removeTree(dir);
      return existed;
    }
    return this.locks.run(known.mirrorDir, async () => {
      const existed = present();
      await this.discard(jobId, dir, known);
      if (existsSync(known.mirrorDir)) {
        const deleted = await this.git.attempt(known.mirrorDir, ['branch', '-D', known.branch]);
        if (!deleted.ok && !/not found/i.test(deleted.error.message))
          this.logger.warn({ jobId, branch: known.branch, err: deleted.error }, 'branch not deleted');
        const kept = await this.git.run(known.mirrorDir, ['for-each-ref', '--format=%(refname)', keptRefs(jobId), checkpointRefs(jobId)]);
        for (const ref of kept.split('\n').filter(Boolean)) await this.git.run(known.mirrorDir, ['update-ref', '-d', ref]);
      }
      this.records.delete(jobId);
      return existed;
    });
  }

  /**
   * Makes a round's checkpoint commits (everything from `from` to HEAD) one commit with a message
   * that reads well in a PR; the checkpoints stay under refs/agency/checkpoints/<job>/ on this
   * runner's mirror until the job is removed. Returns the new head (HEAD itself when nothing changed).
   */
  async squashRound(job: JobWorkspace, from: string, keepAs: string, subject: string, body: string): Promise<string> {
    return this.locks.run(job.mirrorDir, async () => {
      const head = (await this.git.runInTree(job, ['rev-parse', 'HEAD'])).trim();
      if (head === from) return head;
      await this.git.run(job.mirrorDir, ['update-ref', `${checkpointRefs(job.jobId)}${keepAs}`, head]);
      await this.git.runInTree(job, ['reset', '--soft', from]);
      const author = `${GIT_IDENTITY.name} <${GIT_IDENTITY.email}>`;
      await this.git.runInTree(job, ['commit', '--no-verify', '--no-gpg-sign', '--allow-empty', `--author=${author}`, '-m', subject, '-m', body]);
      return (await this.git.runInTree(job, ['rev-parse', 'HEAD'])).trim();
    });
  }

  /** The worktree's tracked content against `from` (committed and not), optionally under one path: what a round changed. */
  async diffSince(job: JobWorkspace, from: string, path?: string): Promise<string> {
    return this.locks.run(job.mirrorDir, () =>
      this.git.runInTree(job, ['diff', '--no-ext-diff', '--no-textconv', '--no-color', from, '--', ...(path ? [`:(literal)${path}`] : [])]),
    );
  }

  /** Subjects of the commits from `from` (exclusive) to HEAD, oldest first. */
  async commitSubjects(job: JobWorkspace, from: string): Promise<string[]> {
    const out = await this.git.runInTree(job, ['log', '--reverse', '--format=%s', `${from}..HEAD`]);
    return out.split('\n').filter(Boolean);
  }

  /**
   * What a command changed in the worktree, as git sees it: tracked files modified or deleted
   * (which the coder's checkpoint then commits, as a formatter's fixes should be) and new files
   * that are neither tracked nor ignored (reported, never committed: a build's output is no change).
   */
  async workingChanges(job: JobWorkspace, max = 200): Promise<{ tracked: string[]; untracked: string[] }> {
    const out = await this.locks.run(job.mirrorDir, () => this.git.runInTree(job, ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames']));
    const tracked: string[] = [];
    const untracked: string[] = [];
    for (const entry of out.split('\0')) {
      if (entry.length < 4) continue;
      const path = entry.slice(3);
      if (entry.startsWith('??')) untracked.push(path);
      else tracked.push(path);
    }
    return { tracked: tracked.slice(0, max), untracked: untracked.slice(0, max) };
  }

  private checkBranch(branch: string): void {
    if (!isSafeRefName(branch)) throw new PermanentError(`branch "${branch}" is not a usable branch name`, 'BAD_BRANCH');
  }

  /**
   * Clones the mirror the first time (into a temporary name, so a crash never leaves half a
   * mirror), fetches otherwise; from where MirrorSource says (git-service for GitHub), which
   * `origin` is set to each time, so a mirror made before keeps working when the source changes.
   */
  private async syncMirror(repo: RepoTargetDto, mirrorDir: string): Promise<void> {
    const origin = this.source.of(repo);
    if (!existsSync(mirrorDir)) {
      const parent = dirname(mirrorDir);
      mkdirSync(parent, { recursive: true });
      const tmp = `${mirrorDir}.tmp-${randomUUID()}`;
      try {
        await origin.git.run(parent, ['clone', '--mirror', '--', origin.url, tmp]);
        // A mirror's fetch (+refs/*:refs/*, prune) would overwrite or delete the job branches we
        // create in it; keep the forge's branches apart, as origin/<name>.
        await this.git.run(tmp, ['config', 'remote.origin.mirror', 'false']);
        await this.git.run(tmp, ['config', '--replace-all', 'remote.origin.fetch', '+refs/heads/*:refs/remotes/origin/*']);
        renameSync(tmp, mirrorDir);
      } catch (e) {
        rmSync(tmp, { recursive: true, force: true });
        throw e;
      }
      this.logger.info({ repo: repo.name, cloneUrl: redactCredentials(origin.url), mirrorDir }, 'mirror cloned');
    } else {
      const current = await this.git.attempt(mirrorDir, ['remote', 'get-url', 'origin']);
      if (current.ok && current.stdout.trim() !== origin.url) await this.git.run(mirrorDir, ['remote', 'set-url', 'origin', origin.url]);
    }
    await origin.git.run(mirrorDir, ['fetch', '--prune', '--force', '--tags', 'origin']);
  }

  private async resolveBase(mirrorDir: string, repo: RepoTargetDto): Promise<string> {
    const base = repo.base;
    if (!isSafeRefName(base)) throw new PermanentError(`base "${base}" of ${repo.name} is not a usable branch name`, 'BAD_BASE');
    const candidates = [`refs/remotes/origin/${base}`, `refs/heads/${base}`, `refs/tags/${base}`, ...(/^[0-9a-f]{40}$/.test(base) ? [base] : [])];
    for (const ref of candidates) {
      const found = await this.git.attempt(mirrorDir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
      if (found.ok) return found.stdout.trim();
    }
    throw new PermanentError(`base "${base}" does not exist in ${repo.name} (${redactCredentials(repo.cloneUrl)})`, 'BASE_NOT_FOUND');
  }

  private async fetchBase(repo: RepoTargetDto, mirrorDir: string): Promise<string> {
    await this.syncMirror(repo, mirrorDir);
    return this.resolveBase(mirrorDir, repo);
  }

  private async hasCommit(dir: string, sha: string): Promise<boolean> {
    return (await this.git.attempt(dir, ['cat-file', '-e', `${sha}^{commit}`])).ok;
  }

  /** Brings an earlier round's commits into the mirror from its bundle artifact. */
  private async importBundle(mirrorDir: string, jobId: string, ws: WorkspaceRefDto): Promise<void> {
    const bytes = await this.artifacts.get(ws.bundle);
    const tmpDir = join(this.root, 'tmp');
    mkdirSync(tmpDir, { recursive: true });
    const file = join(tmpDir, `${randomUUID()}.bundle`);
    await writeFile(file, bytes);
    try {
      const listed = await this.git.attempt(mirrorDir, ['bundle', 'list-heads', file]);
      if (!listed.ok) throw new PermanentError(`artifact ${ws.bundle.key} is not a git bundle: ${listed.error.message}`, 'BUNDLE_INVALID');
      const heads = listed.stdout.split('\n').flatMap((line) => {
        const [sha, ref] = line.trim().split(/\s+/);
        return sha && ref ? [{ sha, ref }] : [];
      });
      const head = heads.find((h) => h.sha === ws.headSha);
      if (!head)
        throw new PermanentError(
          `bundle ${ws.bundle.key} does not contain ${ws.headSha} (its heads: ${heads.map((h) => `${h.ref}=${h.sha}`).join(', ') || 'none'})`,
          'BUNDLE_HEAD_MISMATCH',
        );
      // Prerequisites missing means the base was rewritten or not fetched yet: an error worth retrying.
      await this.git.run(mirrorDir, ['bundle', 'verify', file]);
      await this.git.run(mirrorDir, ['fetch', '--no-tags', '--no-write-fetch-head', file, `+${head.ref}:${incomingRef(jobId)}`]);
    } finally {
      await rm(file, { force: true });
    }
  }

  /** Adds a locked worktree and returns its git directory inside the mirror and its identity. */
  private async addWorktree(mirrorDir: string, dir: string, branch: string, sha: string): Promise<Pick<JobRecord, 'gitDir' | 'worktree'>> {
    mkdirSync(dirname(dir), { recursive: true });
    // The job's own file system, when the kernel bounds the worktree: git creates the worktree in it.
    await this.disks?.mountAt(dir);
    await this.git.run(mirrorDir, ['worktree', 'prune']);
    await this.git.run(mirrorDir, ['worktree', 'add', '--lock', '--force', '-B', branch, dir, sha]);
    // Read once, right after git wrote it and before any sandbox ran in the worktree.
    const info = lstatSync(dir);
    return { gitDir: this.checkedGitDir(mirrorDir, dir), worktree: { dev: info.dev, ino: info.ino } };
  }

  /**
   * The worktree is a directory at its usual path (false when missing). A link there means it is
   * away in a sandbox slot, stranded by a crash: steps of one job never overlap, and a restarted
   * runner moves such worktrees back (DockerSandbox at start-up, which may finish after the first
   * message arrives). The step is tried again later rather than rebuilding the worktree from
   * its base and losing what the slot holds.
   */
  private isHome(dir: string): boolean {
    const info = lstatSync(dir, { throwIfNoEntry: false });
    if (info?.isSymbolicLink())
      throw new Error(`the worktree ${dir} is still in a sandbox slot (a session of an earlier run, not moved back yet); trying the step again later`);
    return info?.isDirectory() === true;
  }

  /**
   * The job's worktree is there and was made: a record saved before `git worktree add` finished
   * (a kill right after the directory, or the job's file system, was made) names no git dir, and
   * a directory without git's `.git` file is then only a mount point to make the worktree in again.
   */
  private isWorktree(known: JobRecord, dir: string): boolean {
    return this.isHome(dir) && (known.gitDir !== undefined || existsSync(join(dir, '.git')));
  }

  /**
   * Records the identity of the worktree at its usual path, where no sandbox reaches: from here
   * on host code accepts only that directory as the job's worktree (WorktreeRoots). Taken at
   * every step's start, so a restored disk with new inode numbers is no tampering.
   */
  private pin(record: JobRecord): void {
    const info = lstatSync(record.worktreeDir);
    if (record.worktree?.dev === info.dev && record.worktree.ino === info.ino) return;
    record.worktree = { dev: info.dev, ino: info.ino };
    this.records.save(record);
  }

  /** The worktree's git directory named by its `.git` file, accepted only inside the mirror's worktrees/. */
  private checkedGitDir(mirrorDir: string, dir: string): string {
    const text = readFileSync(join(dir, '.git'), 'utf8');
    const m = /^gitdir: (.+)$/m.exec(text);
    const gitDir = m ? resolve(dir, m[1]!.trim()) : '';
    if (!m || !isInside(join(mirrorDir, 'worktrees'), gitDir))
      throw new Error(`worktree ${dir} does not point into ${mirrorDir}/worktrees (its .git says "${text.trim().slice(0, 200)}")`);
    return gitDir;
  }

  /** Drops what a command left in the worktree (tracked files back to HEAD, untracked ones gone; the environment's ignored paths stay). */
  async discardChanges(job: JobWorkspace): Promise<void> {
    await this.git.runInTree(job, ['checkout', '--force', 'HEAD', '--', '.']);
    await this.git.runInTree(job, ['clean', '-ffdq']);
  }

  /**
   * Puts an existing worktree on `branch` at `sha`, dropping any uncommitted leftovers of an
   * interrupted step. Commits the branch had beyond `sha` (an interrupted attempt's checkpoints)
   * stay reachable under refs/agency/kept/<job>/ until the job is removed: nothing is lost.
   */
  private async checkoutAt(job: JobWorkspace, branch: string, sha: string): Promise<void> {
    const before = await this.git.attemptInTree(job, ['rev-parse', '--verify', '--quiet', 'HEAD']);
    if (before.ok && before.stdout.trim() !== sha)
      await this.git.run(job.mirrorDir, ['update-ref', `${keptRefs(job.jobId)}${Date.now()}`, before.stdout.trim()]);
    const reset = async () => {
      await this.git.runInTree(job, ['checkout', '--force', '-B', branch, sha]);
      await this.git.runInTree(job, ['clean', '-ffdq']);
    };
    try {
      await reset();
    } catch (e) {
      // A sandboxed command (the runner's own user) may have locked directories of the worktree
      // (chmod 000 src): git cannot write into them. The owner's access given back, git tries once more.
      this.logger.warn({ jobId: job.jobId, err: e }, 'worktree reset failed; giving the owner access to its directories back and retrying');
      openUpTree(job.dir);
      await reset();
    }
  }

  private workspaceOf(r: JobRecord): JobWorkspace {
    // Records from before git dirs were recorded: the .git file, checked, stands in once.
    const gitDir = r.gitDir ?? this.checkedGitDir(r.mirrorDir, r.worktreeDir);
    return { jobId: r.jobId, dir: r.worktreeDir, branch: r.branch, baseSha: r.baseSha, mirrorDir: r.mirrorDir, gitDir };
  }

  /**
   * Removes a worktree directory this runner cannot reuse, and git's record of it. Nothing here
   * follows a link: the path may be a link into a sandbox slot (or, after a tampered slot,
   * nothing at all), and git is never asked to find a worktree by a path that could lead into
   * another job's; the directory goes (links inside removed, never followed), then git's
   * record of it in the mirror (locked, so `prune` alone would keep it), then `prune`.
   */
  private async discard(jobId: string, dir: string, known: JobRecord | undefined): Promise<void> {
    const mirrorDir = known?.mirrorDir;
    const mirrorThere = mirrorDir !== undefined && existsSync(mirrorDir);
    if (mirrorThere && !known?.gitDir && lstatSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      // A record from before git dirs were recorded: only git knows where its record is.
      const removed = await this.git.attempt(mirrorDir, ['worktree', 'remove', '--force', '--force', dir]);
      if (!removed.ok) this.logger.warn({ jobId, dir, err: removed.error }, 'git could not remove the worktree; deleting the directory');
    }
    // The job's file system goes whole (unmounted, its image removed), then the empty mount point.
    await this.disks?.release(dir);
    removeTree(dir);
    if (mirrorThere && known?.gitDir && isInside(join(mirrorDir, 'worktrees'), known.gitDir)) rmSync(known.gitDir, { recursive: true, force: true });
    if (mirrorThere) await this.git.run(mirrorDir, ['worktree', 'prune']);
  }
}

/** `child` is a direct entry of `parent` (git's record of one worktree inside a mirror's worktrees/). */
function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) && !rel.includes('/');
}

/** Where a job's commits that a reset moved its branch away from are kept. */
export function keptRefs(jobId: string): string {
  return `refs/agency/kept/${jobId.replace(/[^A-Za-z0-9_-]/g, '_')}/`;
}

/** Where a round's checkpoint commits are kept once the round is squashed into one commit. */
export function checkpointRefs(jobId: string): string {
  return `refs/agency/checkpoints/${jobId.replace(/[^A-Za-z0-9_-]/g, '_')}/`;
}

/** Where an imported bundle's head waits until the worktree holds it. */
function incomingRef(jobId: string): string {
  return `refs/agency/incoming/${jobId}`;
}
