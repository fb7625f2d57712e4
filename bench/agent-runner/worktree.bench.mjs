#!/usr/bin/env node
// Worktree benchmark: a job's workspace on a repository of 20,000+ files, as the agent-runner
// makes it (mirror fetch + locked `git worktree add`, WorkspaceService.openFresh from dist/)
// versus a `git clone --local` of the same repository per job.
//
//   node bench/agent-runner/worktree.bench.mjs [--files 20000] [--runs 20]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { HEADER, row, summary, timed, buildAgentRunner } from './stats.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const { values: args } = parseArgs({ options: { files: { type: 'string', default: '20000' }, runs: { type: 'string', default: '20' } } });
const FILES = Number(args.files);
const RUNS = Number(args.runs);

const dist = await buildAgentRunner(ROOT);
const { WorkspaceService } = await dist('apps/agent-runner/src/git/workspace.service.js');
const { GitClient } = await dist('apps/agent-runner/src/git/git.client.js');
const { KeyedMutex } = await dist('apps/agent-runner/src/git/keyed-mutex.js');
const { JobRecordRepository } = await dist('apps/agent-runner/src/git/job-record.repository.js');
const { createLogger } = await dist('libs/telemetry/src/index.js');

const base = mkdtempSync(join(tmpdir(), 'bench-worktree-'));
const env = { ...process.env, GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'b@localhost', GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'b@localhost' };
const git = (cwd, ...a) =>
  execFileSync('git', ['-c', 'core.hooksPath=/dev/null', ...a], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 }).toString();

try {
  // A repository of FILES small source files in 100-file directories, committed and pushed to a bare "forge".
  const src = join(base, 'src');
  const perDir = 100;
  for (let d = 0; d < Math.ceil(FILES / perDir); d += 1) {
    const dir = join(src, 'packages', `pkg-${String(d).padStart(4, '0')}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < perDir && d * perDir + f < FILES; f += 1)
      writeFileSync(join(dir, `module-${f}.js`), `// module ${d}/${f}\nexport const value${f} = ${d * perDir + f};\n`);
  }
  git(src, 'init', '-q', '-b', 'main');
  git(src, 'add', '-A');
  git(src, 'commit', '-q', '-m', 'bench repository');
  const forge = join(base, 'forge.git');
  git(base, 'clone', '-q', '--bare', src, forge);
  const count = Number(git(forge, 'ls-tree', '-r', '--name-only', 'main').trim().split('\n').length);

  const work = join(base, 'work');
  const config = { WORK_DIR: work, GIT_TIMEOUT_SECONDS: 600 };
  const artifacts = { get: () => Promise.reject(new Error('not used')) };
  const service = new WorkspaceService(
    config,
    new GitClient(config),
    new KeyedMutex(),
    new JobRecordRepository(config),
    artifacts,
    createLogger({ service: 'bench', level: 'warn' }),
  );
  const repo = { name: 'bench/big', cloneUrl: forge, base: 'main', forge: 'local', testCommand: 'true' };

  const first = await timed(() => service.openFresh('job-first', repo, 'agency/FR-0-first'));
  const worktree = [];
  const removal = [];
  // Created first, removed afterwards: on this VM's disk (ext4 with online discard) deleting 20,000
  // files right before the next checkout slows that checkout down several times over.
  for (let i = 0; i < RUNS; i += 1) worktree.push((await timed(() => service.openFresh(`job-${i}`, repo, `agency/FR-${i + 1}-bench`))).ms);
  const clones = [];
  for (let i = 0; i < RUNS; i += 1) clones.push((await timed(async () => git(base, 'clone', '-q', '--local', forge, join(base, 'clones', `c${i}`)))).ms);
  for (let i = 0; i < RUNS; i += 1) removal.push((await timed(() => service.remove(`job-${i}`))).ms);
  rmSync(join(base, 'clones'), { recursive: true, force: true });
  // Without the checkout: what each approach costs besides writing the files.
  const mirror = join(work, 'mirrors', readdirSync(join(work, 'mirrors'))[0]);
  const bareWorktree = [];
  const bareClone = [];
  for (let i = 0; i < RUNS; i += 1) {
    const wt = join(base, 'bare-wt', `w${i}`);
    bareWorktree.push((await timed(async () => git(mirror, 'worktree', 'add', '-q', '--no-checkout', '-b', `bench-${i}`, wt, 'refs/remotes/origin/main'))).ms);
    git(mirror, 'worktree', 'remove', '--force', wt);
    git(mirror, 'branch', '-D', `bench-${i}`);
    const dir = join(base, 'clones', `n${i}`);
    bareClone.push((await timed(async () => git(base, 'clone', '-q', '--local', '--no-checkout', forge, dir))).ms);
    rmSync(dir, { recursive: true, force: true });
  }
  const out = [
    `Repository: ${count} files in ${Math.ceil(FILES / perDir)} directories, one commit.`,
    '',
    HEADER,
    row('first job of the repository: mirror clone + worktree (once per repository)', summary([first.ms])),
    row('**job worktree** (`openFresh`: mirror fetch + locked `git worktree add` + record)', summary(worktree)),
    row('`git clone --local` of the forge (per job)', summary(clones)),
    row('job worktree removal (`remove`: worktree, branch, record)', summary(removal)),
    row('`git worktree add --no-checkout` (no files written)', summary(bareWorktree)),
    row('`git clone --local --no-checkout` (no files written)', summary(bareClone)),
  ];
  console.log(out.join('\n'));
} finally {
  rmSync(base, { recursive: true, force: true });
}
