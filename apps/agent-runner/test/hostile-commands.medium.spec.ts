import { existsSync, lstatSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RepoTargetDto } from '@agency/contracts';
import type { ArtifactStore } from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import { tempDir, type TempDir } from '@agency/testing';
import type { AgentRunnerConfig } from '../src/agent-runner.config.js';
import { UnsafePathError } from '../src/files/path-errors.js';
import { WorktreeFiles } from '../src/files/worktree-files.js';
import { WorktreeRoots } from '../src/files/worktree-roots.js';
import { GitClient } from '../src/git/git.client.js';
import { JobRecordRepository } from '../src/git/job-record.repository.js';
import { KeyedMutex } from '../src/git/keyed-mutex.js';
import { WORK_LIMITS, WorkspaceService, type JobWorkspace } from '../src/git/workspace.service.js';
import { WorktreeGit } from '../src/git/worktree-git.js';
import type { SandboxSession } from '../src/sandbox/sandbox.js';
import { WorktreeOwner } from '../src/sandbox/worktree-owner.js';
import { startSandboxRig, type SandboxRig } from './support/docker-sandbox.js';
import { git, makeGreeterForge, type GreeterForge } from './support/greeter-forge.js';
import { treeDigest } from './support/tree-digest.js';

const SECRET = `HOST-SECRET-${process.pid}`;
const VICTIM = `VICTIM-SECRET-${process.pid}`;

/**
 * The hostile-command suite (issue 12): commands an attacker would run in the real Docker
 * sandbox, then the runner's real file tools and host git on the job's worktree, as the coder's
 * tool loop uses them (during the session, and at the next step). Each case is contained: after
 * it, the host's files, another job's worktree on the same mirror and the mirror's config,
 * info/ and hooks/ are byte for byte as before, and no program the sandbox planted ran on the
 * host (it would have created a marker file).
 */
describe('hostile commands in the Docker sandbox, then the runner on the same worktree', () => {
  let rig: SandboxRig;
  let forge: GreeterForge;
  let outside: TempDir;
  let home: TempDir;
  let workspaces: WorkspaceService;
  let files: WorktreeFiles;
  let worktreeGit: WorktreeGit;
  let repo: RepoTargetDto;
  let victim: JobWorkspace;
  let marker: string;
  let before: { victim: string[]; outside: string[]; mirror: string[] };
  let jobs = 0;
  const previousHome = process.env.HOME;

  const mirrorState = () => [
    readFileSync(join(victim.mirrorDir, 'config'), 'utf8'),
    ...treeDigest(join(victim.mirrorDir, 'info')),
    ...treeDigest(join(victim.mirrorDir, 'hooks')),
  ];

  beforeAll(async () => {
    rig = await startSandboxRig({ SANDBOX_POOL_SIZE: 0 });
    forge = makeGreeterForge();
    outside = tempDir('hostile-outside-');
    writeFileSync(join(outside.path, 'secret.txt'), `${SECRET}\n`);
    mkdirSync(join(outside.path, 'dir'));
    writeFileSync(join(outside.path, 'dir', 'keep.txt'), 'keep\n');
    marker = join(outside.path, 'HOST-COMMAND-RAN');
    // The runner's own user config: a filter for every file, which git must never read.
    home = tempDir('hostile-home-');
    writeFileSync(
      join(home.path, '.gitconfig'),
      `[filter "pwn"]\n\tclean = "touch ${marker}; cat"\n\tsmudge = "touch ${marker}; cat"\n[include]\n\tpath = ${join(home.path, 'more.gitconfig')}\n`,
    );
    writeFileSync(join(home.path, 'more.gitconfig'), `[core]\n\thooksPath = ${join(home.path, 'hooks')}\n`);
    mkdirSync(join(home.path, '.config', 'git'), { recursive: true });
    writeFileSync(join(home.path, '.config', 'git', 'attributes'), '* filter=pwn\n');
    process.env.HOME = home.path;

    const config = { ...rig.config, GIT_TIMEOUT_SECONDS: 120 } as AgentRunnerConfig;
    const records = new JobRecordRepository(config);
    const roots = new WorktreeRoots(config, records);
    const gitClient = new GitClient(config, roots);
    const locks = new KeyedMutex();
    const artifacts = { get: () => Promise.reject(new Error('no artifacts here')) } as unknown as ArtifactStore;
    workspaces = new WorkspaceService(config, gitClient, locks, records, artifacts, createLogger({ service: 'test', level: 'silent' }));
    files = new WorktreeFiles(roots, new WorktreeOwner(config));
    worktreeGit = new WorktreeGit(config, gitClient, locks);
    repo = { name: 'example/greeter', cloneUrl: forge.cloneUrl, base: 'main', forge: 'local', testCommand: 'node --test' };

    victim = await workspaces.openFresh('victim', repo, 'agency/FR-200-victim');
    await files.write(victim.dir, [{ path: 'victim.txt', content: `${VICTIM}\n` }]);
    await workspaces.commit(victim, 'victim', 'body', ['victim.txt']);
  }, 180_000);

  beforeEach(() => {
    before = { victim: treeDigest(victim.dir), outside: treeDigest(outside.path), mirror: mirrorState() };
  });

  afterEach(() => {
    expect(treeDigest(victim.dir)).toEqual(before.victim);
    expect(treeDigest(outside.path)).toEqual(before.outside);
    expect(mirrorState()).toEqual(before.mirror);
    expect(existsSync(marker)).toBe(false);
  });

  afterAll(async () => {
    process.env.HOME = previousHome;
    await rig?.dispose();
    forge?.root.remove();
    outside?.remove();
    home?.remove();
  });

  /** A fresh job on the shared mirror, its sandbox session open. */
  async function job(): Promise<{ ws: JobWorkspace; session: SandboxSession; run: (command: string, timeoutMs?: number) => Promise<string> }> {
    jobs += 1;
    const ws = await workspaces.openFresh(`hostile-${jobs}`, repo, `agency/FR-${300 + jobs}-hostile`);
    const session = await rig.sandbox.open({ workspace: ws.dir, jobId: ws.jobId });
    const run = async (command: string, timeoutMs = 30_000) => (await session.exec({ command, timeoutMs })).output;
    return { ws, session, run };
  }

  const refused = (p: Promise<unknown>) => expect(p).rejects.toThrow(UnsafePathError);

  it('never follows symlinks to host files or directories, swapped in for a file or a directory', async () => {
    const { ws, session, run } = await job();
    await run(
      `ln -s ${outside.path}/secret.txt secret-link; ln -s ../../../.. up; rm -rf src && ln -s ${victim.dir} src; ln -s ${outside.path}/dir test/fixtures`,
    );
    for (const path of ['secret-link', 'up/secret.txt', 'src/greet.js', 'test/fixtures/keep.txt']) await refused(files.readForModel(ws.dir, path, 100_000));
    await refused(files.write(ws.dir, [{ path: 'src/pwned.js', content: 'x' }]));
    await refused(files.write(ws.dir, [{ path: 'secret-link', content: 'x' }]));
    await refused(files.edit(ws.dir, 'src/greet.js', 'Hello', 'Pwned'));
    expect((await files.list(ws.dir, '', 500)).files.map((f) => f.path)).toEqual(expect.arrayContaining(['secret-link', 'src', 'up']));
    expect((await worktreeGit.grep(ws, SECRET, { regex: false, max: 10 })).lines).toEqual([]);
    expect((await worktreeGit.grep(ws, VICTIM, { regex: false, max: 10 })).lines).toEqual([]);
    // git reads nothing through the link: to it the file is not there.
    await expect(worktreeGit.applyPatch(ws, '--- a/src/greet.js\n+++ b/src/greet.js\n@@ -1 +1 @@\n-x\n+y\n', 1)).rejects.toThrow(
      /src\/greet\.js: (No such file or directory|beyond a symbolic link)/,
    );
    // Committed, a link is its text, never the file it names.
    const head = await workspaces.commit(ws, 'links', 'body', ['secret-link']);
    expect(git(ws.mirrorDir, 'cat-file', '-p', `${head}:secret-link`)).toBe(`${outside.path}/secret.txt`);
    expect((await workspaces.exportWork(ws)).diff).not.toContain(SECRET);
    await session.close();
    // The next step's checkout and clean run in the job's own directory: the links go, the victim stays.
    const again = await workspaces.openFresh(ws.jobId, repo, ws.branch);
    expect(lstatSync(join(again.dir, 'src')).isDirectory()).toBe(true);
    expect(readFileSync(join(again.dir, 'src', 'greet.js'), 'utf8')).toContain('Hello');
  });

  it('cannot hard-link a file from outside the slot (the bind mount is its own mount); the tools refuse a hard link made inside', async () => {
    const { ws, session, run } = await job();
    const out = await run(
      'ln /etc/hostname host-link 2>&1; ln /tmp host-dir 2>&1; echo x > /tmp/t; ln /tmp/t tmp-link 2>&1; ln README.md twin && echo linked-inside',
    );
    expect(out).toMatch(/ln: failed to create hard link 'host-link' => '\/etc\/hostname': Invalid cross-device link/);
    expect(out).toMatch(/tmp-link.*Invalid cross-device link/);
    expect(out).toContain('linked-inside');
    await expect(files.readForModel(ws.dir, 'twin', 100_000)).rejects.toThrow('is a hard link');
    await expect(files.write(ws.dir, [{ path: 'README.md', content: 'x' }])).rejects.toThrow('is a hard link');
    await session.close();
  });

  it('never blocks on a fifo or reads a device; device nodes cannot be made', async () => {
    const { ws, session, run } = await job();
    const out = await run('mkfifo fifo; mkfifo src/greet.js.fifo; mknod dev-null c 1 3 2>&1; mknod dev-sda b 8 0 2>&1; ls -l fifo');
    expect(out).toMatch(/mknod: dev-null: Operation not permitted/);
    expect(out).toMatch(/^p/m);
    await expect(files.readForModel(ws.dir, 'fifo', 100_000)).rejects.toThrow('is a fifo, not a regular file');
    expect(await files.readText(ws.dir, 'fifo', 100_000)).toBeUndefined();
    await expect(files.write(ws.dir, [{ path: 'fifo', content: 'x' }])).rejects.toThrow('is a fifo');
    expect((await worktreeGit.grep(ws, 'anything', { regex: false, max: 10 })).lines).toEqual([]);
    // git skips what is not a file or a link: nothing to commit, and nothing waited on the fifo.
    await expect(workspaces.commit(ws, 'fifo', 'body', ['fifo'])).resolves.toBeUndefined();
    await session.close();
  });

  it('keeps ".." in paths and in link texts inside the worktree', async () => {
    const { ws, session, run } = await job();
    await run('ln -s .. parent; ln -s src/../.. climb; mkdir -p a/b && ln -s ../../src a/b/ok');
    for (const path of ['../secret.txt', 'src/../../x', 'parent/README.md', 'climb/x', 'a/b/ok/../../../..'])
      await refused(files.readForModel(ws.dir, path, 100_000));
    expect(await files.readForModel(ws.dir, 'a/b/ok/greet.js', 100_000)).toContain('Hello');
    await session.close();
  });

  it("ignores a .git file, a .git link, hooks, filters and attributes the sandbox wrote, and the runner user's own git config", async () => {
    const { ws, session, run } = await job();
    const evilConfig = `[core]\\n\\trepositoryformatversion = 0\\n\\thooksPath = hooks\\n\\tfsmonitor = touch ${marker}\\n[filter "pwn"]\\n\\tclean = touch ${marker}; cat\\n\\tsmudge = touch ${marker}; cat\\n[diff "pwn"]\\n\\ttextconv = touch ${marker}; cat\\n`;
    await run(
      [
        'mkdir -p evil/objects evil/refs/heads evil/hooks evil/info',
        `printf '${evilConfig}' > evil/config`,
        "echo 'ref: refs/heads/main' > evil/HEAD",
        `printf '#!/bin/sh\\ntouch ${marker}\\n' > evil/hooks/pre-commit && chmod +x evil/hooks/pre-commit`,
        "echo '* filter=pwn diff=pwn' > evil/info/attributes",
        "printf 'gitdir: evil\\n' > .git",
        "echo '* filter=pwn diff=pwn' > .gitattributes",
        'echo change > change.txt',
      ].join(' && '),
    );
    const head = await workspaces.commit(ws, 'change', 'body', ['change.txt', '.gitattributes']);
    expect(git(ws.mirrorDir, 'rev-parse', `refs/heads/${ws.branch}`)).toBe(head);
    const work = await workspaces.exportWork(ws);
    expect(work.filesChanged).toEqual(['.gitattributes', 'change.txt']);
    // Now .git as a link into the sandbox's repository.
    await run('rm .git && ln -s evil .git && echo more >> change.txt');
    await workspaces.commit(ws, 'more', 'body', ['change.txt']);
    await session.close();
    await workspaces.openFresh(ws.jobId, repo, ws.branch);
    expect(existsSync(marker)).toBe(false);
  });

  it('reads, searches, commits and exports a huge file without holding it in memory', async () => {
    const { ws, session, run } = await job();
    await run('truncate -s 900M sparse.bin && yes "a line of text that goes on for a while" | head -c 200000000 > big.txt; ls -l big.txt sparse.bin', 120_000);
    let peak = process.memoryUsage().rss;
    const start = peak;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      await expect(files.readForModel(ws.dir, 'big.txt', 100_000)).rejects.toThrow('is 200000000 bytes, more than the 100000');
      expect(await files.readText(ws.dir, 'sparse.bin', 100_000)).toBeUndefined();
      await expect(files.edit(ws.dir, 'big.txt', 'a', 'b')).rejects.toThrow('larger than');
      expect((await worktreeGit.grep(ws, 'needle-not-there', { regex: false, max: 10 })).lines).toEqual([]);
      await workspaces.commit(ws, 'huge', 'body', ['big.txt', 'sparse.bin']);
      const work = await workspaces.exportWork(ws);
      expect(work.diff.length).toBeLessThan(WORK_LIMITS.diffBytes + 200);
      expect(work.diff).toContain(`[diff cut at ${WORK_LIMITS.diffBytes} bytes`);
      expect(work.filesChanged).toEqual(['big.txt', 'sparse.bin']);
    } finally {
      clearInterval(sampler);
    }
    // The 200 MB diff alone would be 200 MB in memory (400 MB as a string); the runner stays far below.
    expect(peak - start).toBeLessThan(120 * 1024 * 1024);
    await session.close();
  }, 300_000);

  it('contains a fork bomb and a memory bomb; the sandbox stays usable', async () => {
    const { session, run } = await job();
    // It ends (at the process limit, or at its time limit) and takes nothing of the host with it.
    await session.exec({ command: 'bomb() { bomb | bomb & }; bomb', timeoutMs: 10_000 });
    const hog = await session.exec({ command: 'node -e "const a = []; for (;;) a.push(Buffer.alloc(1e6, 1))"', timeoutMs: 60_000 });
    expect(hog.oomKilled).toBe(true);
    expect(await run('echo still here')).toBe('still here\n');
    await session.close();
  }, 120_000);

  it('kills what a command leaves behind before the next command and before the host touches the files', async () => {
    const { ws, session, run } = await job();
    const started = await run(
      "setsid sh -c 'while :; do echo tick >> late.txt; sleep 0.01; done' > /dev/null 2>&1 < /dev/null & until [ -s late.txt ]; do sleep 0.01; done; echo started",
    );
    expect(started).toBe('started\n');
    const sizeAfterCommand = statSync(join(ws.dir, 'late.txt')).size;
    // The next command sees only the container's init, the command server (node's MainThread) and itself.
    const processes = await run('for p in /proc/[0-9]*; do cat $p/comm; done');
    expect(processes.split('\n').filter(Boolean).sort()).toEqual(['MainThread', 'docker-init', 'sh']);
    // Nothing wrote to the file since the command ended.
    expect(statSync(join(ws.dir, 'late.txt')).size).toBe(sizeAfterCommand);
    expect((await files.readForModel(ws.dir, 'late.txt', 1_000_000)).split('\n').filter(Boolean).length).toBe(sizeAfterCommand / 5);
    await session.close();
  });
});
