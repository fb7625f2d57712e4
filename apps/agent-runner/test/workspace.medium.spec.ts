import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RepoTargetDto } from '@agency/contracts';
import type { ArtifactStore } from '@agency/messaging';
import { PermanentError } from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import { tempDir, type TempDir } from '@agency/testing';
import type { AgentRunnerConfig } from '../src/agent-runner.config.js';
import { branchName } from '../src/git/branch-name.js';
import { GitClient } from '../src/git/git.client.js';
import { JobRecordRepository } from '../src/git/job-record.repository.js';
import { KeyedMutex } from '../src/git/keyed-mutex.js';
import { WorkspaceService } from '../src/git/workspace.service.js';
import { git, makeGreeterForge, type GreeterForge } from './support/greeter-forge.js';

describe('WorkspaceService with real git', () => {
  let forge: GreeterForge;
  let work: TempDir;
  let service: WorkspaceService;
  let repo: RepoTargetDto;

  beforeAll(() => {
    forge = makeGreeterForge();
    repo = { name: 'example/greeter', cloneUrl: forge.cloneUrl, base: 'main', forge: 'local', testCommand: 'node --test' };
  });

  beforeEach(() => {
    work = tempDir('workspace-');
    const config = { WORK_DIR: work.path, GIT_TIMEOUT_SECONDS: 60 } as AgentRunnerConfig;
    // Bundles are not used here: opening fresh worktrees never reads an artifact.
    const artifacts = { get: () => Promise.reject(new Error('no artifacts in this test')) } as unknown as ArtifactStore;
    service = new WorkspaceService(
      config,
      new GitClient(config),
      new KeyedMutex(),
      new JobRecordRepository(config),
      artifacts,
      createLogger({ service: 'test', level: 'silent' }),
    );
  });

  afterEach(() => work.remove());
  afterAll(() => forge.root.remove());

  it('creates 8 worktrees on one repository in parallel from one mirror', async () => {
    const jobs = Array.from({ length: 8 }, (_, i) => ({ jobId: `job-${i}`, branch: branchName(`FR-${i + 1}`, `Parallel change ${i}`) }));
    const opened = await Promise.all(jobs.map((j) => service.openFresh(j.jobId, repo, j.branch)));

    expect(readdirSync(join(work.path, 'mirrors'))).toHaveLength(1);
    for (const [i, ws] of opened.entries()) {
      expect(ws.dir).toBe(join(work.path, 'worktrees', `job-${i}`));
      expect(ws.baseSha).toBe(forge.baseSha);
      expect(git(ws.dir, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(jobs[i]!.branch);
      expect(git(ws.dir, 'rev-parse', 'HEAD')).toBe(forge.baseSha);
      expect(readFileSync(join(ws.dir, 'src/greet.js'), 'utf8')).toContain('Hello');
    }
    const listed = git(opened[0]!.mirrorDir, 'worktree', 'list', '--porcelain')
      .split('\n')
      .filter((l) => l.startsWith('worktree '));
    expect(listed).toHaveLength(9);

    // Commits and exports in parallel too: each job gets its own head and a bundle of its own commit.
    const heads = await Promise.all(
      opened.map(async (ws, i) => {
        writeFileSync(join(ws.dir, `job-${i}.txt`), `job ${i}\n`);
        const head = await service.commit(ws, `FR-${i + 1}: change ${i}`, 'body');
        const work = await service.exportWork(ws);
        expect(work).toMatchObject({ headSha: head, commits: 1, filesChanged: [`job-${i}.txt`] });
        expect(work.bundle.byteLength).toBeGreaterThan(0);
        return head;
      }),
    );
    expect(new Set(heads).size).toBe(8);

    const removed = await Promise.all(jobs.map((j) => service.remove(j.jobId)));
    expect(removed).toEqual(Array(8).fill(true));
    expect(readdirSync(join(work.path, 'worktrees'))).toEqual([]);
    expect(git(opened[0]!.mirrorDir, 'branch', '--list', 'agency/*')).toBe('');
  });

  it('fetches a moved base into the existing mirror instead of cloning again', async () => {
    const first = await service.openFresh('job-a', repo, 'agency/FR-1-a');
    const marker = join(first.mirrorDir, 'agency-marker');
    writeFileSync(marker, 'kept');

    const pusher = forge.freshClone(`pusher-${Date.now()}`);
    writeFileSync(join(pusher, 'NEWS.md'), 'news\n');
    git(pusher, 'add', '-A');
    git(pusher, 'commit', '-q', '-m', 'news');
    git(pusher, 'push', '-q', 'origin', 'main');
    const moved = git(pusher, 'rev-parse', 'HEAD');

    const second = await service.openFresh('job-b', repo, 'agency/FR-2-b');
    expect(second.baseSha).toBe(moved);
    expect(existsSync(marker)).toBe(true);
    // The earlier job keeps the base it started from.
    expect((await service.openFresh('job-a', repo, 'agency/FR-1-a')).baseSha).toBe(first.baseSha);
  });

  it('makes a worktree again whose making a kill cut short (its directory there, git never ran in it)', async () => {
    const ws = await service.openFresh('job-cut', repo, 'agency/FR-7-cut');
    // What a kill between making the directory (a job file system's mount point) and `git worktree
    // add` leaves: the record saved without its git dir, and an empty directory.
    const records = new JobRecordRepository({ WORK_DIR: work.path } as AgentRunnerConfig);
    const { gitDir: _gitDir, worktree: _worktree, ...early } = records.get('job-cut')!;
    records.save(early);
    git(ws.mirrorDir, 'worktree', 'remove', '--force', '--force', ws.dir);
    mkdirSync(ws.dir);

    const again = await service.openFresh('job-cut', repo, 'agency/FR-7-cut');
    expect(git(again.dir, 'rev-parse', 'HEAD')).toBe(ws.baseSha);
    expect(readFileSync(join(again.dir, 'src/greet.js'), 'utf8')).toContain('Hello');
    expect(records.get('job-cut')?.gitDir).toBeDefined();
  });

  it('reopening a job resets it to where its branch started, dropping a crashed attempt', async () => {
    const ws = await service.openFresh('job-r', repo, 'agency/FR-9-retry');
    writeFileSync(join(ws.dir, 'half-written.js'), 'x');
    writeFileSync(join(ws.dir, 'src/greet.js'), 'broken');
    await service.commit(ws, 'FR-9: crashed attempt', 'body');
    writeFileSync(join(ws.dir, 'untracked.tmp'), 'junk');

    const crashed = git(ws.dir, 'rev-parse', 'HEAD');
    const again = await service.openFresh('job-r', repo, 'agency/FR-9-retry');
    expect(git(again.dir, 'rev-parse', 'HEAD')).toBe(again.baseSha);
    // The attempt's commit is not lost: it is kept under refs/agency/kept/ until the job is removed.
    expect(git(again.mirrorDir, 'for-each-ref', '--format=%(objectname)', 'refs/agency/kept/job-r/')).toBe(crashed);
    expect(git(again.dir, 'status', '--porcelain')).toBe('');
    expect(readFileSync(join(again.dir, 'src/greet.js'), 'utf8')).toContain('Hello');
    await service.remove('job-r');
    expect(git(again.mirrorDir, 'for-each-ref', 'refs/agency/kept/')).toBe('');
  });

  it("never lets a worktree's own .git file point host git at a repository (and config) a sandbox made", async () => {
    const ws = await service.openFresh('job-evil', repo, 'agency/FR-6-evil');
    // What a command in the sandbox could do: a repository of its own whose config runs a program on `git add`.
    const evil = join(ws.dir, 'evil-repo');
    git(ws.dir, 'init', '-q', evil);
    const marker = join(work.path, 'pwned');
    git(evil, 'config', 'filter.pwn.clean', `touch ${marker}; cat`);
    writeFileSync(join(ws.dir, '.gitattributes'), '* filter=pwn\n');
    writeFileSync(join(ws.dir, '.git'), `gitdir: ${join(evil, '.git')}\n`);
    writeFileSync(join(ws.dir, 'change.txt'), 'change\n');

    const head = await service.commit(ws, 'FR-6: change', 'body', ['change.txt']);
    expect(head).toMatch(/^[0-9a-f]{40}$/);
    expect(existsSync(marker)).toBe(false);
    // The commit landed on the job's branch in the mirror, not in the sandbox's repository.
    expect(git(ws.mirrorDir, 'rev-parse', 'refs/heads/agency/FR-6-evil')).toBe(head);
    expect(git(ws.mirrorDir, 'show', '--name-only', '--format=', head!)).toBe('change.txt');
  });

  it('leaves a worktree stranded in a sandbox slot for the recovery (the step is retried), and removes it without following the link', async () => {
    const ws = await service.openFresh('job-s', repo, 'agency/FR-7-stranded');
    writeFileSync(join(ws.dir, 'work.txt'), 'work\n');
    await service.commit(ws, 'FR-7: work', 'body', ['work.txt']);
    const slotRepo = join(work.path, 'sandbox', 'slots', 's1', 'repo');
    mkdirSync(join(slotRepo, '..'), { recursive: true });
    renameSync(ws.dir, slotRepo);
    symlinkSync(slotRepo, ws.dir);
    await expect(service.openFresh('job-s', repo, 'agency/FR-7-stranded')).rejects.toThrow('is still in a sandbox slot');
    // The branch keeps its work, and the slot is untouched.
    expect(git(ws.mirrorDir, 'show', '--name-only', '--format=', 'agency/FR-7-stranded')).toBe('work.txt');
    expect(existsSync(join(slotRepo, 'work.txt'))).toBe(true);
    await expect(service.remove('job-s')).resolves.toBe(true);
    expect(existsSync(join(slotRepo, 'work.txt'))).toBe(true);
    expect(git(ws.mirrorDir, 'worktree', 'list', '--porcelain')).not.toContain('job-s');
  });

  it('commit answers undefined when nothing changed', async () => {
    const ws = await service.openFresh('job-e', repo, 'agency/FR-5-empty');
    writeFileSync(join(ws.dir, 'src/greet.js'), readFileSync(join(ws.dir, 'src/greet.js')));
    await expect(service.commit(ws, 'FR-5: nothing', 'body')).resolves.toBeUndefined();
  });

  it('refuses a base that does not exist, and a job id that names a parent directory', async () => {
    const error = await service.openFresh('job-x', { ...repo, base: 'no-such-branch' }, 'agency/FR-3-x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toBe(`base "no-such-branch" does not exist in example/greeter (${forge.cloneUrl})`);
    await expect(service.openFresh('..', repo, 'agency/FR-3-x')).rejects.toThrow('job id ".." cannot name a worktree directory');
  });

  it('remove is a no-op for an unknown job', async () => {
    await expect(service.remove('never-seen')).resolves.toBe(false);
  });
});
