import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, type TempDir } from '@agency/testing';
import { WorktreeFiles } from '../../files/worktree-files.js';
import type { JobWorkspace } from '../../git/workspace.service.js';
import type { SandboxExecOptions, SandboxResult } from '../../sandbox/sandbox.js';
import { CoderTools } from './coder-tools.js';

const ALL = ['list_files', 'read_file', 'search', 'write_file', 'edit_file', 'apply_patch', 'run_command', 'show_changes'];

describe('CoderTools on a real directory', () => {
  let base: TempDir;
  let root: string;
  let patches: string[];
  let commands: SandboxExecOptions[];
  let result: Partial<SandboxResult>;

  const tools = (allowed = ALL) =>
    new CoderTools({
      ws: { dir: root } as JobWorkspace,
      files: new WorktreeFiles(),
      git: {
        grep: async (_ws, pattern, o) => ({ lines: [`src/a.js:1:${pattern}${o.path ? ` in ${o.path}` : ''}`], more: false }),
        applyPatch: async (_ws, patch) => (patches.push(patch), { reducedContext: false }),
      },
      sandbox: async () => ({
        jobId: 'j',
        workdir: '/workspace/repo',
        exec: async (o) => (commands.push(o), { exitCode: 0, timedOut: false, durationMs: 1500, output: 'ok\n', outputBytes: 3, truncated: false, ...result }),
        close: async () => undefined,
      }),
      commandTimeoutMs: 60_000,
      workdir: '/workspace/repo',
      allowed: new Set(allowed),
      diff: async (path) => (path?.startsWith('docs') ? '' : `diff --git a/src/a.js b/src/a.js\n-line 1\n+line one\n${path ? `(only ${path})` : ''}`),
    });
  const run = (name: string, args: unknown, allowed?: string[]) => tools(allowed).run(name, typeof args === 'string' ? args : JSON.stringify(args));

  beforeEach(() => {
    base = tempDir('coder-tools-');
    root = join(base.path, 'repo');
    mkdirSync(join(root, 'src'), { recursive: true });
    mkdirSync(join(root, 'node_modules', 'x'), { recursive: true });
    writeFileSync(join(root, 'src', 'a.js'), 'line 1\nline 2\nline 3\n');
    writeFileSync(join(root, 'node_modules', 'x', 'i.js'), '');
    writeFileSync(join(base.path, 'secret.txt'), 'secret');
    patches = [];
    commands = [];
    result = {};
  });

  afterEach(() => base.remove());

  it('lists files without node_modules, reads whole files and line ranges with line numbers', async () => {
    expect(await run('list_files', {})).toEqual({ ok: true, content: 'src/a.js (21 B)' });
    expect((await run('read_file', { path: 'src/a.js' })).content).toBe('src/a.js (3 lines)\n1\tline 1\n2\tline 2\n3\tline 3');
    expect((await run('read_file', { path: 'src/a.js', start_line: 2, end_line: 3 })).content).toBe('src/a.js (lines 2-3 of 3)\n2\tline 2\n3\tline 3');
    // Models often send numbers as text.
    expect((await run('read_file', { path: 'src/a.js', start_line: '2', end_line: '2' })).content).toBe('src/a.js (lines 2-2 of 3)\n2\tline 2');
    expect(await run('read_file', { path: 'src/a.js', start_line: 3, end_line: 2 })).toEqual({
      ok: false,
      content: 'error: end_line 2 is before start_line 3',
    });
    expect(await run('read_file', { path: 'src/a.js', start_line: 9 })).toEqual({
      ok: false,
      content: 'error: start_line 9 is past the end of src/a.js (3 lines)',
    });
    expect(await run('read_file', { path: 'src/missing.js' })).toEqual({ ok: false, content: 'error: path "src/missing.js" does not exist' });
  });

  it('suggests the path meant when one does not exist: another case, the same name elsewhere', async () => {
    writeFileSync(join(root, 'README.md'), 'readme\n');
    mkdirSync(join(root, 'lib'));
    writeFileSync(join(root, 'lib', 'a.ts'), 'x\n');
    expect((await run('read_file', { path: 'readme.md' })).content).toBe('error: path "readme.md" does not exist; did you mean README.md?');
    expect((await run('read_file', { path: 'a.js' })).content).toBe('error: path "a.js" does not exist; did you mean src/a.js or lib/a.ts?');
    expect((await run('edit_file', { path: 'src/A.js', old_text: 'a', new_text: 'b' })).content).toBe(
      'error: path "src/A.js" is not an existing file; create it with write_file; did you mean src/a.js?',
    );
  });

  it("reads Claude Code's offset/limit as a line range, and says what it read (relay trial commander.js)", async () => {
    const lines23 = (await run('read_file', { path: 'src/a.js', start_line: 2, end_line: 3 })).content;
    expect((await run('read_file', { path: 'src/a.js', offset: 2, limit: 2 })).content).toBe(
      `[arguments read as read_file's: offset 2, limit 2 -> start_line 2, end_line 3]\n${lines23}`,
    );
    // An offset of 0 (counted from 0) is the first line; numbers as text are read too; either may come alone.
    expect((await run('read_file', { file_path: 'src/a.js', offset: '0', limit: '1' })).content).toBe(
      "[arguments read as read_file's: file_path -> path, offset 0, limit 1 -> start_line 1, end_line 1]\nsrc/a.js (lines 1-1 of 3)\n1\tline 1",
    );
    expect((await run('read_file', { path: 'src/a.js', offset: 3 })).content).toBe(
      "[arguments read as read_file's: offset 3 -> start_line 3]\nsrc/a.js (lines 3-3 of 3)\n3\tline 3",
    );
    expect((await run('read_file', { path: 'src/a.js', limit: 1 })).content).toMatch(
      /^\[arguments read as read_file's: limit 1 -> end_line 1\]\nsrc\/a\.js \(lines 1-1 of 3\)/,
    );
    // Beside our own names, or not a whole number: refused, still saying which names were read as ours.
    expect(await run('read_file', { file_path: 'src/a.js', offset: 2, end_line: 3 })).toEqual({
      ok: false,
      content:
        '[arguments read as read_file\'s: file_path -> path]\nerror: read_file has no argument "offset". read_file takes: path (string, required), start_line (integer), end_line (integer)',
    });
    expect((await run('read_file', { path: 'src/a.js', offset: 1, limit: 'all' })).content).toBe(
      'error: read_file has no arguments "offset", "limit". read_file takes: path (string, required), start_line (integer), end_line (integer)',
    );
    // Claude Code's own tool name (Read) with its arguments: the range is said, as the tool ran with what the model did not send.
    expect((await run('Read', { file_path: 'src/a.js', offset: 2, limit: 1 })).content).toBe(
      "[ran as read_file; the tool is called read_file]\n[arguments read as read_file's: offset 2, limit 1 -> start_line 2, end_line 2]\nsrc/a.js (lines 2-2 of 3)\n2\tline 2",
    );
  });

  it("refuses search's include (a glob, where path is one file or directory), saying which names were read as ours", async () => {
    expect(await run('search', { query: 'line', include: 'src' })).toEqual({
      ok: false,
      content:
        '[arguments read as search\'s: query -> pattern]\nerror: search has no argument "include". search takes: pattern (string, required), regex (boolean), path (string)',
    });
  });

  it('reads lines written into the path (a.js:2-3, a.js:2, a.js#L2-L3) as the range, with a note (relay trial commander.js)', async () => {
    const lines23 = (await run('read_file', { path: 'src/a.js', start_line: 2, end_line: 3 })).content;
    expect(await run('read_file', { path: 'src/a.js:2-3' })).toEqual({
      ok: true,
      content: `[path "src/a.js:2-3" read as path "src/a.js" with start_line 2, end_line 3]\n${lines23}`,
    });
    expect((await run('read_file', { path: 'src/a.js#L2-L3' })).content).toBe(
      `[path "src/a.js#L2-L3" read as path "src/a.js" with start_line 2, end_line 3]\n${lines23}`,
    );
    expect((await run('read_file', { path: 'src/a.js:2' })).content).toBe(`[path "src/a.js:2" read as path "src/a.js" with start_line 2]\n${lines23}`);
    // A file of that very name is read as it is; a range beside start_line/end_line, or of a file that does not exist, is not read so.
    writeFileSync(join(root, 'src', 'b.js:1'), 'colon\n');
    expect((await run('read_file', { path: 'src/b.js:1' })).content).toBe('src/b.js:1 (1 line)\n1\tcolon');
    expect((await run('read_file', { path: 'src/a.js:2-3', start_line: 1 })).content).toBe('error: path "src/a.js:2-3" does not exist; did you mean src/a.js?');
    expect((await run('read_file', { path: 'src/c.js:2' })).content).toBe('error: path "src/c.js:2" does not exist');
    expect((await run('read_file', { path: 'src/a.js:3-2' })).content).toBe('error: path "src/a.js:3-2" does not exist; did you mean src/a.js?');
  });

  it('reads a long file in pages, saying how to read on', async () => {
    writeFileSync(join(root, 'big.js'), Array.from({ length: 1000 }, (_, i) => `const v${i + 1} = ${i + 1};`).join('\n'));
    const first = (await run('read_file', { path: 'big.js' })).content;
    expect(first.split('\n')[0]).toBe('big.js (lines 1-400 of 1000)');
    expect(first.split('\n')[1]).toBe('  1\tconst v1 = 1;');
    expect(first.endsWith('[... 600 more lines: read_file with start_line 401 to go on ...]')).toBe(true);
    const last = (await run('read_file', { path: 'big.js', start_line: 990 })).content;
    expect(last.split('\n')).toEqual([
      'big.js (lines 990-1000 of 1000)',
      ...Array.from({ length: 11 }, (_, i) => `${String(990 + i).padStart(4)}\tconst v${990 + i} = ${990 + i};`),
    ]);
  });

  it('writes and edits, reporting what changed', async () => {
    expect(await run('write_file', { path: 'src/deep/new.js', content: 'x = 1\n' })).toEqual({
      ok: true,
      content: 'wrote src/deep/new.js (6 bytes)',
      changed: ['src/deep/new.js'],
    });
    expect(await run('edit_file', { path: 'src/a.js', old_text: 'line 2', new_text: 'LINE TWO' })).toEqual({
      ok: true,
      content: 'edited src/a.js: 1 replacement(s)',
      changed: ['src/a.js'],
    });
    expect(readFileSync(join(root, 'src/a.js'), 'utf8')).toBe('line 1\nLINE TWO\nline 3\n');
    // Other tool families' argument names (Claude Code's old_string/new_string, file_path) are read as ours (pathe trial: a turn).
    expect(await run('edit_file', { file_path: 'src/a.js', old_string: 'LINE TWO', new_string: 'line 2' })).toEqual({
      ok: true,
      content: "[arguments read as edit_file's: file_path -> path, old_string -> old_text, new_string -> new_text]\nedited src/a.js: 1 replacement(s)",
      changed: ['src/a.js'],
    });
    expect(await run('read_file', { filepath: 'src/a.js' })).toMatchObject({ ok: true, content: expect.stringContaining('line 2') });
    // The path as the sandbox sees it (the prompt names /workspace/repo) is the repository's; any other absolute path is not (rou3 re-run: a turn).
    expect((await run('show_changes', { path: '/workspace/repo/src/a.js' })).content).toMatch(
      /^\[path read relative to the repository: \/workspace\/repo\/src\/a\.js -> src\/a\.js\]\ndiff --git/,
    );
    expect((await run('read_file', { path: '/workspace/repository/src/a.js' })).content).toContain('is absolute');
    expect((await run('read_file', { path: 'src/a.js', startLine: 2, end: 2 })).content).toBe(
      "[arguments read as read_file's: startLine -> start_line, end -> end_line]\n" +
        (await run('read_file', { path: 'src/a.js', start_line: 2, end_line: 2 })).content,
    );
    // Under both names at once it stays an error that names the stray one.
    expect((await run('read_file', { path: 'src/a.js', filepath: 'src/b.js' })).content).toContain('read_file has no argument "filepath"');
    await run('edit_file', { path: 'src/a.js', old_text: 'line 2', new_text: 'LINE TWO' });
    expect((await run('edit_file', { path: 'src/a.js', old_text: 'line', new_text: 'l' })).content).toBe(
      'error: old_text occurs 2 times in src/a.js; give more surrounding text so it is unique, or set replace_all',
    );
    expect((await run('edit_file', { path: 'src/a.js', old_text: 'line', new_text: 'l', replace_all: true })).content).toBe(
      'edited src/a.js: 2 replacement(s)',
    );
    expect((await run('edit_file', { path: 'src/a.js', old_text: 'nope', new_text: 'x' })).content).toContain('old_text was not found in src/a.js');
    expect((await run('edit_file', { path: 'src/b.js', old_text: 'a', new_text: 'b' })).content).toBe(
      'error: path "src/b.js" is not an existing file; create it with write_file',
    );
  });

  it('refuses "..", absolute paths, .git and symlinks out of the worktree, in every file tool', async () => {
    symlinkSync(base.path, join(root, 'out'));
    symlinkSync(join(base.path, 'secret.txt'), join(root, 'secret-link.txt'));
    const refusals = await Promise.all([
      run('read_file', { path: '../secret.txt' }),
      run('read_file', { path: join(base.path, 'secret.txt') }),
      run('read_file', { path: 'out/secret.txt' }),
      run('read_file', { path: 'secret-link.txt' }),
      run('write_file', { path: 'out/evil.txt', content: 'x' }),
      run('write_file', { path: '.git/hooks/pre-commit', content: 'x' }),
      run('edit_file', { path: 'secret-link.txt', old_text: 'secret', new_text: 'x' }),
      run('list_files', { path: 'out' }),
      run('list_files', { path: '..' }),
      run('search', { pattern: 'secret', path: 'out' }),
      run('apply_patch', { patch: '--- a/out/secret.txt\n+++ b/out/secret.txt\n@@ -1 +1 @@\n-secret\n+x\n' }),
      run('apply_patch', { patch: '--- /dev/null\n+++ /etc/cron.d/evil\n@@ -0,0 +1 @@\n+x\n' }),
    ]);
    for (const r of refusals) {
      expect(r.ok).toBe(false);
      expect(r.content).toMatch(
        /^error: path ".*" (contains "\.\." and would leave the repository|is absolute|is a symlink pointing outside|goes through a symlink pointing outside|is inside \.git)/,
      );
    }
    expect(readFileSync(join(base.path, 'secret.txt'), 'utf8')).toBe('secret');
    expect(patches).toEqual([]);
  });

  it('applies a patch whose paths are inside, and searches', async () => {
    const patch = '--- a/src/a.js\n+++ b/src/a.js\n@@ -1 +1 @@\n-line 1\n+line one\n';
    expect(await run('apply_patch', { patch })).toEqual({ ok: true, content: 'applied the patch to src/a.js', changed: ['src/a.js'] });
    expect(patches).toEqual([patch]);
    expect(await run('search', { pattern: 'line', path: 'src' })).toEqual({ ok: true, content: 'src/a.js:1:line in src' });
    expect((await run('apply_patch', { patch: 'change line 1' })).content).toContain('the patch has no file headers');
  });

  it("says why a patch did not apply and what usually fixes it, without the runner's paths", async () => {
    const failing = new CoderTools({
      ws: { dir: root } as JobWorkspace,
      files: new WorktreeFiles(),
      git: {
        grep: async () => ({ lines: [], more: false }),
        applyPatch: async () => {
          throw new Error(
            'git --git-dir=/w/mirrors/x.git/worktrees/j --work-tree=/w/worktrees/j apply --recount /w/tmp/5f0e8a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5b.patch failed: error: patch failed: src/a.js:1\nerror: src/a.js: patch does not apply',
          );
        },
      },
      sandbox: async () => {
        throw new Error('unused');
      },
      commandTimeoutMs: 1000,
      allowed: new Set(ALL),
    });
    const r = await failing.run('apply_patch', JSON.stringify({ patch: '--- a/src/a.js\n+++ b/src/a.js\n@@ -1 +1 @@\n-line one\n+line 1\n' }));
    expect(r.ok).toBe(false);
    expect(r.content).toBe(
      'error: the patch did not apply: patch failed: src/a.js:1; src/a.js: patch does not apply. Where it differs: hunk 1 of src/a.js: its first line "line one" is not in the file. Each hunk\'s context and removed lines must match the file exactly, whitespace and blank lines included: read_file the region again (the line numbers it shows are not part of the file), or use edit_file for a small change.',
    );
    expect(r.content).not.toContain('/w/');
  });

  it("runs commands in the sandbox within the agency's limit and says how they ended", async () => {
    expect(await run('run_command', { command: 'npm test', timeout_seconds: 5 })).toEqual({ ok: true, content: 'exit code 0, 1.5 s\nok\n' });
    expect(commands[0]).toMatchObject({ command: 'npm test', timeoutMs: 5000, maxOutputBytes: 16_000 });
    // git in the sandbox says why it cannot work, instead of naming a host path.
    expect(commands[0]!.env?.GIT_DIR).toMatch(/git-is-not-available-in-the-sandbox/);
    await run('run_command', { command: 'npm test', timeout_seconds: 100_000 });
    expect(commands[1]!.timeoutMs).toBe(60_000);
    // Other names for the limit are read as timeout_seconds, milliseconds as whole seconds (rou3 trial: a turn lost to `timeout`).
    expect(await run('run_command', { command: 'npm test', timeout: 7 })).toMatchObject({
      ok: true,
      content: "[arguments read as run_command's: timeout -> timeout_seconds]\nexit code 0, 1.5 s\nok\n",
    });
    expect(commands[2]!.timeoutMs).toBe(7000);
    expect((await run('run_command', { command: 'npm test', timeout_ms: 2500 })).content).toMatch(
      /^\[arguments read as run_command's: timeout_ms -> timeout_seconds \(in seconds\)\]/,
    );
    expect(commands[3]!.timeoutMs).toBe(3000);
    // A name that could change what the call does is still refused, not dropped.
    expect((await run('run_command', { command: 'npm test', cwd: 'src' })).content).toContain('run_command has no argument "cwd"');
    commands.length = 0;
    result = { exitCode: 137, timedOut: true, output: '' };
    expect((await run('run_command', { command: 'sleep 1000' })).content).toBe('killed at the time limit of 60 s, 1.5 s\n(no output)');
    result = { exitCode: 137, oomKilled: true };
    expect((await run('run_command', { command: 'node hog.js' })).content).toMatch(/^killed: the sandbox ran out of memory/);
  });

  it("shows the round's changes so far, or says there are none", async () => {
    expect((await run('show_changes', {})).content).toBe('diff --git a/src/a.js b/src/a.js\n-line 1\n+line one\n');
    expect((await run('show_changes', { path: 'src/a.js' })).content).toContain('(only src/a.js)');
    mkdirSync(join(root, 'docs'), { recursive: true });
    writeFileSync(join(root, 'docs', 'guide.md'), 'guide\n');
    expect(await run('show_changes', { path: 'docs' })).toEqual({ ok: true, content: 'no changes under docs in this round yet' });
    // A path that is not there is no "unchanged file" (pathe trial).
    expect(await run('show_changes', { path: 'docs/guid.md' })).toEqual({
      ok: false,
      content: 'error: path "docs/guid.md" does not exist; did you mean docs/guide.md?',
    });
    expect((await run('show_changes', { path: '../x' })).content).toMatch(/^error: path "\.\.\/x" contains "\.\."/);
  });

  it("runs a tool called by another family's name as ours, when ours is offered, and says so (relay trial citty: bash)", async () => {
    expect(await run('bash', { command: 'npx vitest run' })).toEqual({
      ok: true,
      content: '[ran as run_command; the tool is called run_command]\nexit code 0, 1.5 s\nok\n',
    });
    expect(commands.map((c) => c.command)).toEqual(['npx vitest run']);
    expect((await run('cat', { file_path: 'src/a.js', start_line: 2, end_line: 2 })).content).toBe(
      '[ran as read_file; the tool is called read_file]\nsrc/a.js (lines 2-2 of 3)\n2\tline 2',
    );
    expect(await run('create_file', { path: 'b.js', content: 'b\n' })).toEqual({
      ok: true,
      content: '[ran as write_file; the tool is called write_file]\nwrote b.js (2 bytes)',
      changed: ['b.js'],
    });
    // The tool's own checks still apply, with the note.
    expect((await run('cat', { path: 'src/A.js' })).content).toBe(
      '[ran as read_file; the tool is called read_file]\nerror: path "src/A.js" does not exist; did you mean src/a.js?',
    );
    // Not offered, or arguments that do not map: refused, saying which tools exist.
    expect(await run('bash', { command: 'ls' }, ['read_file'])).toEqual({
      ok: false,
      content: 'error: there is no tool "bash"; use one of: read_file, finish',
    });
    expect(await run('bash', { script: 'ls' })).toEqual({
      ok: false,
      content:
        'error: there is no tool "bash"; use one of: list_files, read_file, search, write_file, edit_file, apply_patch, run_command, show_changes, finish',
    });
    expect(commands).toHaveLength(1);
  });

  it('answers mistakes in calling a tool instead of failing', async () => {
    expect(await run('write_file', 'write a.js please')).toMatchObject({
      ok: false,
      content: expect.stringContaining('the arguments of write_file are not a JSON object'),
    });
    // Sloppy JSON is repaired, as the agents' answers are: a trailing comma, a missing brace.
    expect(await run('write_file', '{"path": "fixed.js", "content": "x\\n",}')).toMatchObject({ ok: true, content: 'wrote fixed.js (2 bytes)' });
    expect(await run('write_file', '{"path": "fixed2.js", "content": "y"')).toMatchObject({ ok: true, content: 'wrote fixed2.js (1 bytes)' });
    // Repaired into something else than the call meant: the argument check says what is wrong.
    expect((await run('write_file', '{not json')).content).toContain('write_file has no argument "not json"');
    expect(await run('write_file', { path: 'a.js' })).toEqual({
      ok: false,
      content: 'error: argument "content" of write_file is missing. write_file takes: path (string, required), content (string, required)',
    });
    expect(await run('read_file', { name: 'a.js' })).toEqual({
      ok: false,
      content: 'error: read_file has no argument "name". read_file takes: path (string, required), start_line (integer), end_line (integer)',
    });
    expect(await run('read_file', { path: 'src/a.js', start_line: 'two' })).toEqual({
      ok: false,
      content:
        'error: argument "start_line" of read_file must be an integer (got "two"). read_file takes: path (string, required), start_line (integer), end_line (integer)',
    });
    expect(await run('delete_everything', {})).toMatchObject({ ok: false, content: expect.stringContaining('there is no tool "delete_everything"') });
    expect(await run('run_command', { command: 'ls' }, ['read_file'])).toEqual({
      ok: false,
      content: 'error: there is no tool "run_command"; use one of: read_file, finish',
    });
    expect(await run('finish', { summary: '  ' })).toEqual({ ok: false, content: 'error: argument "summary" is empty; say what you changed' });
    expect(await run('finish', { summary: 'Done.' })).toEqual({ ok: true, content: 'finished', finished: { summary: 'Done.' } });
  });
});
