import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Messages, type Envelope, type PlannedEvent } from '@agency/contracts';
import { tempDir, type TempDir } from '@agency/testing';
import { git, VAULT_PATH } from './support/greeter-forge.js';
import { RunnerHarness } from './support/runner-harness.js';
import { FAREWELL_JS, FAREWELL_TEST_JS, LlmScript, PLAN_ANSWER, tools, turns } from './support/scripts.js';

const MAX_STEPS = 6;
const h = new RunnerHarness();
const script = new LlmScript();
let vault: TempDir;

interface Transcript {
  outcome: { ok: boolean; mode?: string; steps?: number; error?: string };
  totals: { modelCalls: number; toolCalls: number };
  entries: Array<{ kind: string; name?: string; result?: string; commit?: string }>;
}

/** The tool results the model was sent in its last call of a saga. */
function toolResults(sagaId: string): string[] {
  const calls = h.llm.calls.filter((c) => c.headers['x-agency-saga-id'] === sagaId && c.model === 'coder');
  return calls
    .at(-1)!
    .messages.filter((m) => m.role === 'tool')
    .map((m) => m.content);
}

describe('the coder tool loop over the OpenAI wire format, with real git and a Docker sandbox', () => {
  let planned: Envelope<PlannedEvent>;

  beforeAll(async () => {
    // The example vault, with a coder that may take only a few steps.
    vault = tempDir('coder-vault-');
    cpSync(VAULT_PATH, vault.path, { recursive: true });
    const coder = join(vault.path, '20_agents', 'coder.md');
    writeFileSync(coder, readFileSync(coder, 'utf8').replace(/^max_steps: \d+$/m, `max_steps: ${MAX_STEPS}`));
    await h.start({ VAULT_PATH: vault.path, COMMAND_TIMEOUT_SECONDS: '60' });
    h.llm.respond = script.respond;
    script.on('plan', 'planner', PLAN_ANSWER);
    planned = await h.planOnce();
  });

  afterAll(async () => {
    await h.dispose();
    vault?.remove();
  });

  // Each job its own FR, so each has its own branch (one branch is checked out in one worktree at a time).
  const frOf: Record<string, string> = { multi: 'FR-011', loop: 'FR-012', runaway: 'FR-013', escape: 'FR-014', format: 'FR-015' };
  const code = (sagaId: string) => {
    const fr = h.fr(frOf[sagaId], `Farewell ${sagaId}`);
    return h.send(Messages.Code, {
      frId: fr.id,
      sagaId,
      jobId: `job-${sagaId}`,
      step: 'code-r1',
      attempt: 1,
      payload: { fr, repo: h.repo(), strategy: h.strategy(), plan: planned.payload.plan, round: 1, findings: [] },
    });
  };

  it('lands a multi-step change as one commit for the round, its checkpoints kept aside, running the tests in the sandbox on the way', async () => {
    script.on(
      'multi',
      'coder',
      turns([
        tools(['list_files', { path: 'src' }]),
        tools(['write_file', { path: 'src/farewell.js', content: FAREWELL_JS }]),
        tools(['write_file', { path: 'test/farewell.test.js', content: FAREWELL_TEST_JS }], ['run_command', { command: 'node --test' }]),
        tools(['edit_file', { path: 'src/farewell.js', old_text: '${name}!', new_text: '${name.trim()}!' }]),
        tools(['search', { pattern: 'name.trim()' }], ['run_command', { command: 'node --test' }]),
        tools(['finish', { summary: 'Added farewell() with a trimmed name, and its test.' }]),
      ]),
    );
    await code('multi');
    const coded = (await h.answer(Messages.Coded, 'multi', 'code-r1', 1, 40_000)).payload;

    expect(coded).toMatchObject({ commits: 1, summary: 'Added farewell() with a trimmed name, and its test.' });
    expect(coded).not.toHaveProperty('stopped');
    expect([...coded.filesChanged].sort()).toEqual(['src/farewell.js', 'test/farewell.test.js']);
    const worktree = join(h.workDir.path, 'worktrees', 'job-multi');
    // The PR branch reads well: one commit named after the FR; the tool-by-tool checkpoints stay on a side ref.
    expect(git(worktree, 'log', '--format=%s', `${h.forge.baseSha}..HEAD`)).toBe('FR-011: Farewell multi');
    const mirrorDir = (JSON.parse(readFileSync(join(h.workDir.path, 'jobs', 'job-multi.json'), 'utf8')) as { mirrorDir: string }).mirrorDir;
    expect(git(mirrorDir, 'log', '--format=%s', `${h.forge.baseSha}..refs/agency/checkpoints/job-multi/r1-a1`).split('\n')).toEqual([
      'FR-011: edit_file src/farewell.js (round 1, step 4)',
      'FR-011: write_file test/farewell.test.js (round 1, step 3)',
      'FR-011: write_file src/farewell.js (round 1, step 2)',
    ]);
    expect(git(worktree, 'rev-parse', 'HEAD^{tree}')).toBe(git(mirrorDir, 'rev-parse', 'refs/agency/checkpoints/job-multi/r1-a1^{tree}'));
    expect(readFileSync(join(worktree, 'src/farewell.js'), 'utf8')).toContain('${name.trim()}!');

    // The model offered every tool of the vault's coder and saw real results: the listing, the tests passing in the sandbox, the search hit.
    const last = h.llm.calls.filter((c) => c.headers['x-agency-saga-id'] === 'multi').at(-1)!;
    expect(last.tools).toEqual(['list_files', 'read_file', 'search', 'write_file', 'edit_file', 'apply_patch', 'run_command', 'show_changes', 'finish']);
    const results = toolResults('multi');
    expect(results[0]).toContain('src/greet.js');
    expect(results[2]).toBe(`wrote test/farewell.test.js (${Buffer.byteLength(FAREWELL_TEST_JS)} bytes)`);
    expect(results[3]).toMatch(/^exit code 0, [\d.]+ s\n/);
    expect(results[3]).toContain('ℹ pass 2');
    expect(results[5]).toContain('src/farewell.js:3:');

    // The tests ran once at the base before the first turn, in the sandbox, and the model was told how they went.
    const first = h.llm.calls.filter((c) => c.headers['x-agency-saga-id'] === 'multi')[0]!;
    expect(JSON.stringify(first.body)).toMatch(/Before any change, the tests \(`[^`]+`\) passed at the base: \d+ passed, 0 failed/);

    const transcript = await h.artifactJson<Transcript>('FR-011/multi/code-r1-a1.transcript.json');
    expect(transcript.outcome).toMatchObject({ ok: true, mode: 'tools', steps: 6 });
    expect(transcript.totals).toEqual({ modelCalls: 6, toolCalls: 8, inputTokens: 600, outputTokens: 300 });
    expect(transcript.entries.filter((e) => e.commit).length).toBe(3);
  });

  it('warns a model that repeats the same action, then stops it and hands in what it committed, saying why', async () => {
    script.on('loop', 'coder', turns([tools(['write_file', { path: 'NOTES.md', content: 'notes\n' }]), tools(['read_file', { path: 'README.md' }])]));
    await code('loop');
    const coded = (await h.answer(Messages.Coded, 'loop', 'code-r1', 1, 40_000)).payload;
    expect(coded.stopped?.code).toBe('REPEATED_ACTION');
    expect(coded.stopped?.reason).toContain('repeated the same action 4 times without changing anything (read_file {"path":"README.md"}), after a warning');
    expect(coded.filesChanged).toEqual(['NOTES.md']);
    // The third read was not run: the model got a warning instead.
    expect(toolResults('loop')[3]).toMatch(/^not run: you have called read_file with these same arguments 3 times/);
    const mirror = JSON.parse(readFileSync(join(h.workDir.path, 'jobs', 'job-loop.json'), 'utf8')) as { mirrorDir: string; branch: string };
    expect(git(mirror.mirrorDir, 'log', '-1', '--format=%s', mirror.branch)).toBe('FR-012: Farewell loop (unfinished: stopped repeating itself)');
    expect(h.llm.calls.filter((c) => c.headers['x-agency-saga-id'] === 'loop')).toHaveLength(5);
  });

  it('stops a runaway at the step limit and hands in its work as one commit, every checkpoint kept aside', async () => {
    let n = 0;
    script.on('runaway', 'coder', () => tools(['write_file', { path: 'counter.txt', content: `${(n += 1)}\n` }]));
    await code('runaway');
    const coded = (await h.answer(Messages.Coded, 'runaway', 'code-r1', 1, 40_000)).payload;
    expect(coded.stopped).toEqual({
      code: 'STEP_LIMIT',
      reason: `the coder used all ${MAX_STEPS} steps (max_steps of the coder agent) without calling finish`,
    });
    const worktree = join(h.workDir.path, 'worktrees', 'job-runaway');
    expect(git(worktree, 'rev-list', '--count', `${h.forge.baseSha}..HEAD`)).toBe('1');
    expect(readFileSync(join(worktree, 'counter.txt'), 'utf8')).toBe(`${MAX_STEPS}\n`);
    const mirrorDir = (JSON.parse(readFileSync(join(h.workDir.path, 'jobs', 'job-runaway.json'), 'utf8')) as { mirrorDir: string }).mirrorDir;
    expect(git(mirrorDir, 'rev-list', '--count', `${h.forge.baseSha}..refs/agency/checkpoints/job-runaway/r1-a1`)).toBe(String(MAX_STEPS));
    expect(h.llm.calls.filter((c) => c.headers['x-agency-saga-id'] === 'runaway')).toHaveLength(MAX_STEPS);
  });

  it('applies a patch whose hunk has no context after its change, and names the line of a patch that differs', async () => {
    // git anchors a hunk without trailing context to the end of the file; this one is not at the end.
    const anchored = [
      '--- a/src/greet.js',
      '+++ b/src/greet.js',
      '@@ -1,2 +1,2 @@',
      ' /** Returns a friendly greeting for `name`. */',
      '-export function greet(name) {',
      '+export function greet(name = "you") {',
      '',
    ].join('\n');
    const wrong = [
      '--- a/src/greet.js',
      '+++ b/src/greet.js',
      '@@ -2,2 +2,2 @@',
      ' export function greet(name = "you") {',
      '-  return `Hello ${name}`;',
      '+  return `Hey ${name}`;',
      '',
    ].join('\n');
    script.on(
      'patches',
      'coder',
      turns([tools(['apply_patch', { patch: anchored }]), tools(['apply_patch', { patch: wrong }]), tools(['finish', { summary: 'Default name.' }])]),
    );
    await code('patches');
    const coded = (await h.answer(Messages.Coded, 'patches', 'code-r1', 1, 40_000)).payload;
    expect(coded.filesChanged).toEqual(['src/greet.js']);
    const [applied, refused] = toolResults('patches');
    expect(applied).toMatch(/^applied the patch to src\/greet\.js with one line of context/);
    expect(refused).toContain(
      'Where it differs: hunk 1 of src/greet.js: its first 1 line(s) match the file from line 2, then the patch has "  return `Hello ${name}`;" where the file has "  return `Hello, ${name}!`;" (line 3)',
    );
    const worktree = join(h.workDir.path, 'worktrees', 'job-patches');
    expect(git(worktree, 'show', 'HEAD:src/greet.js')).toContain('export function greet(name = "you") {');
  });

  it("applies a two-file patch without diff lines whose first hunk header over-counts its lines (git's --recount read the next file's header into it)", async () => {
    const readme = readFileSync(join(h.forge.freshClone('readme-for-patch'), 'README.md'), 'utf8').split('\n');
    const patch = [
      '--- a/src/greet.js',
      '+++ b/src/greet.js',
      // 3 old and 4 new lines, said to be 3 and 6.
      '@@ -1,3 +1,6 @@',
      ' /** Returns a friendly greeting for `name`. */',
      '-export function greet(name) {',
      '+/** The name used when none is given. */',
      '+export function greet(name = "you") {',
      '   return `Hello, ${name}!`;',
      '--- a/README.md',
      '+++ b/README.md',
      '@@ -1,2 +1,3 @@',
      ` ${readme[0]}`,
      '+Greets `you` when no name is given.',
      ` ${readme[1]}`,
      '',
    ].join('\n');
    script.on('recount', 'coder', turns([tools(['apply_patch', { patch }]), tools(['finish', { summary: 'Default name.' }])]));
    await code('recount');
    const coded = (await h.answer(Messages.Coded, 'recount', 'code-r1', 1, 40_000)).payload;
    expect(toolResults('recount')[0]).toBe('applied the patch to src/greet.js, README.md');
    expect(coded.filesChanged).toEqual(['README.md', 'src/greet.js']);
    const worktree = join(h.workDir.path, 'worktrees', 'job-recount');
    expect(git(worktree, 'show', 'HEAD:src/greet.js')).toContain('/** The name used when none is given. */\nexport function greet(name = "you") {');
    expect(git(worktree, 'show', 'HEAD:README.md').split('\n').slice(0, 2)).toEqual([readme[0], 'Greets `you` when no name is given.']);
  });

  it('commits what a command changes in tracked files (a formatter), and only reports the new files it makes', async () => {
    script.on(
      'format',
      'coder',
      turns([
        tools(['run_command', { command: "sed -i 's/Hello/Hi/' src/greet.js && echo generated > build-output.txt" }]),
        tools(['show_changes', {}], ['run_command', { command: 'git status' }]),
        tools(['finish', { summary: 'Greets with Hi.' }]),
      ]),
    );
    await code('format');
    const coded = (await h.answer(Messages.Coded, 'format', 'code-r1', 1, 40_000)).payload;
    expect(coded.filesChanged).toEqual(['src/greet.js']);
    const result = toolResults('format')[0]!;
    expect(result).toContain('[the command changed 1 tracked file(s), committed with this step: src/greet.js]');
    expect(result).toContain('[new files the command created are not committed: build-output.txt; create a file with write_file to keep it]');
    const worktree = join(h.workDir.path, 'worktrees', 'job-format');
    expect(git(worktree, 'show', 'HEAD:src/greet.js')).toContain('Hi');
    // The round's diff for the model to review, and git in the sandbox saying why it cannot work (no host path).
    expect(toolResults('format')[1]).toMatch(/^diff --git a\/src\/greet\.js b\/src\/greet\.js[\s\S]*\+.*Hi/);
    expect(toolResults('format')[2]).toMatch(/git-is-not-available-in-the-sandbox--the-agency-commits-for-you--use-show_changes/);
    expect(toolResults('format')[2]).not.toContain(h.workDir.path);
  });

  it('refuses escapes through the file tools: "..", absolute paths, symlinks out, and patches naming them', async () => {
    const outside = join(h.workDir.path, 'outside.txt');
    script.on(
      'escape',
      'coder',
      turns([
        tools(
          ['write_file', { path: '../outside.txt', content: 'x' }],
          ['write_file', { path: outside, content: 'x' }],
          ['read_file', { path: '/etc/passwd' }],
          ['run_command', { command: 'ln -s /etc etc-link && ln -s / root-link && echo linked' }],
        ),
        tools(
          ['read_file', { path: 'etc-link/passwd' }],
          ['write_file', { path: 'root-link/tmp/evil.txt', content: 'x' }],
          ['list_files', { path: 'etc-link' }],
          ['edit_file', { path: 'etc-link/hostname', old_text: 'a', new_text: 'b' }],
          ['search', { pattern: 'root', path: 'etc-link' }],
          ['apply_patch', { patch: '--- a/../outside.txt\n+++ b/../outside.txt\n@@ -0,0 +1 @@\n+x\n' }],
          ['apply_patch', { patch: '--- /dev/null\n+++ b/etc-link/evil\n@@ -0,0 +1 @@\n+x\n' }],
          ['write_file', { path: '.git/config', content: 'x' }],
        ),
        tools(['write_file', { path: 'docs/ok.md', content: 'fine\n' }]),
        tools(['finish', { summary: 'Only the allowed file.' }]),
      ]),
    );
    await code('escape');
    const coded = (await h.answer(Messages.Coded, 'escape', 'code-r1', 1, 40_000)).payload;
    expect(coded.filesChanged).toEqual(['docs/ok.md']);
    const results = toolResults('escape');
    expect(results.slice(0, 3)).toEqual([
      'error: path "../outside.txt" contains ".." and would leave the repository',
      `error: path "${outside}" is absolute; paths must be relative to the repository root`,
      'error: path "/etc/passwd" is absolute; paths must be relative to the repository root',
    ]);
    expect(results[3]).toContain('linked');
    for (const r of results.slice(4, 9))
      expect(r).toMatch(/^error: path "(etc|root)-link[^"]*" (is a symlink|goes through a symlink) pointing outside the repository/);
    expect(results[9]).toBe('error: path "../outside.txt" contains ".." and would leave the repository');
    expect(results[10]).toMatch(/^error: path "etc-link\/evil" goes through a symlink pointing outside the repository/);
    expect(results[11]).toBe('error: path ".git/config" is inside .git; git\'s own files are off limits');
    expect(existsSync(outside)).toBe(false);
  });
});
