import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafeGit } from '@agency/git';
import { tempDir, type TempDir } from '@agency/testing';
import { BaseTreeTools, plannerTools } from './base-tree-tools.js';

/** A real repository with one commit, then a second that the tools must not see. */
function repository(dir: string): { sha: string; files: Array<{ path: string; size: number }> } {
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: dir, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  mkdirSync(join(dir, 'src'));
  const files: Record<string, string | Buffer> = {
    'src/index.ts': Array.from({ length: 450 }, (_, i) => `export const v${i + 1} = ${i + 1};`).join('\n') + '\n',
    'src/greet.ts': 'export function greet(name: string) {\n  return `Hello, ${name}`;\n}\n',
    'README.md': '# Greeter\n',
    'logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]),
  };
  for (const [p, c] of Object.entries(files)) writeFileSync(join(dir, p), c);
  git('add', '.');
  git('commit', '-q', '-m', 'base');
  const sha = git('rev-parse', 'HEAD');
  writeFileSync(join(dir, 'src', 'greet.ts'), 'export function greet() { return "changed later"; }\n');
  git('commit', '-q', '-am', 'later');
  return { sha, files: Object.entries(files).map(([path, c]) => ({ path, size: Buffer.byteLength(c) })) };
}

describe('BaseTreeTools', () => {
  let dir: TempDir;
  let tools: BaseTreeTools;

  beforeEach(() => {
    dir = tempDir('base-tree-');
    const { sha, files } = repository(dir.path);
    tools = new BaseTreeTools(new SafeGit(20_000), dir.path, sha, files, new Set(['list_files', 'read_file', 'search']));
  });
  afterEach(() => dir.remove());

  it('reads a file as it was at the commit, with numbered lines', async () => {
    const r = await tools.run('read_file', JSON.stringify({ path: 'src/greet.ts' }));
    expect(r).toEqual({ ok: true, content: 'src/greet.ts (3 lines)\n1\texport function greet(name: string) {\n2\t  return `Hello, ${name}`;\n3\t}' });
  });

  it('reads a long file a page at a time and says how to go on', async () => {
    const first = await tools.run('read_file', JSON.stringify({ path: 'src/index.ts' }));
    expect(first.content).toMatch(/^src\/index.ts \(lines 1-400 of 450\)\n/);
    expect(first.content).toMatch(/\[\.\.\. 50 more lines: read_file with start_line 401 to go on \.\.\.\]$/);
    const part = await tools.run('read_file', '{"path": "src/index.ts", "start_line": 449, "end_line": 450,}');
    expect(part.content).toBe('src/index.ts (lines 449-450 of 450)\n449\texport const v449 = 449;\n450\texport const v450 = 450;');
  });

  it("reads lines written into the path, and Claude Code's offset/limit, as the range, with a note (relay trial commander.js)", async () => {
    const part = (await tools.run('read_file', '{"path": "src/index.ts", "start_line": 449, "end_line": 450}')).content;
    expect(await tools.run('read_file', '{"path": "src/index.ts:449-450"}')).toEqual({
      ok: true,
      content: `[path "src/index.ts:449-450" read as path "src/index.ts" with start_line 449, end_line 450]\n${part}`,
    });
    expect((await tools.run('read_file', '{"path": "src/index.ts#L449-L450"}')).content).toBe(
      `[path "src/index.ts#L449-L450" read as path "src/index.ts" with start_line 449, end_line 450]\n${part}`,
    );
    expect((await tools.run('read_file', '{"path": "src/index.ts:449"}')).content).toBe(
      `[path "src/index.ts:449" read as path "src/index.ts" with start_line 449]\n${part}`,
    );
    expect((await tools.run('read_file', '{"path": "src/gone.ts:4"}')).content).toBe('error: path "src/gone.ts:4" does not exist');
    expect((await tools.run('read_file', '{"path": "src/index.ts", "offset": 449, "limit": 2}')).content).toBe(
      `[arguments read as read_file's: offset 449, limit 2 -> start_line 449, end_line 450]\n${part}`,
    );
  });

  it('says what is wrong with a path, and suggests the file meant', async () => {
    expect(await tools.run('read_file', '{"path": "greet.ts"}')).toEqual({
      ok: false,
      content: 'error: path "greet.ts" does not exist; did you mean src/greet.ts?',
    });
    expect((await tools.run('read_file', '{"path": "src"}')).content).toBe('error: path "src" is a directory; use list_files');
    expect((await tools.run('read_file', '{"path": "logo.png"}')).content).toBe('error: path "logo.png" is a binary file');
    expect((await tools.run('read_file', '{"path": "../etc/passwd"}')).ok).toBe(false);
    expect((await tools.run('read_file', '{"path": "/etc/passwd"}')).ok).toBe(false);
  });

  it('lists files under a directory with their sizes', async () => {
    expect((await tools.run('list_files', '{"path": "src"}')).content).toBe('src/index.ts (11034 B)\nsrc/greet.ts (67 B)');
    expect((await tools.run('list_files', '{}')).content.split('\n')).toHaveLength(4);
    expect((await tools.run('list_files', '{"path": "lib"}')).content).toBe('(no files under lib/)');
  });

  it('searches the commit, not what came after it', async () => {
    expect((await tools.run('search', '{"pattern": "Hello"}')).content).toBe('src/greet.ts:2:  return `Hello, ${name}`;');
    expect((await tools.run('search', '{"pattern": "changed later"}')).content).toBe('no matches');
    expect((await tools.run('search', '{"pattern": "v45[0-9] =", "regex": true, "path": "src/index.ts"}')).content.split('\n')).toHaveLength(1);
    // 62 lines match; git stops at 50 a file, and the model is told there are more.
    const capped = (await tools.run('search', '{"pattern": "v4[0-9]* =", "regex": true, "path": "src/index.ts"}')).content.split('\n');
    expect(capped).toHaveLength(51);
    expect(capped[50]).toBe('[... more matches not shown; narrow the search ...]');
  });

  it('refuses tools that change files, unknown tools and bad arguments, in words the model can act on', async () => {
    expect((await tools.run('write_file', '{"path": "a", "content": "b"}')).content).toMatch(
      /^error: there is no tool "write_file" for planning; use one of: list_files, read_file, search/,
    );
    expect((await tools.run('read_file', '{"name": "src/greet.ts"}')).ok).toBe(false);
    expect((await tools.run('search', '{"pattern": ""}')).content).toBe('error: argument "pattern" is empty');
    expect((await tools.run('search', '{"pattern": "(", "regex": true}')).content).toMatch(/^error: search failed: /);
  });

  it("reads by another family's name for a reading tool, and refuses a shell, which planning does not offer", async () => {
    expect((await tools.run('cat', '{"path": "src/greet.ts", "end_line": 1}')).content).toBe(
      '[ran as read_file; the tool is called read_file]\nsrc/greet.ts (lines 1-1 of 3)\n1\texport function greet(name: string) {',
    );
    expect((await tools.run('ls', '{"path": "src"}')).content).toBe(
      '[ran as list_files; the tool is called list_files]\nsrc/index.ts (11034 B)\nsrc/greet.ts (67 B)',
    );
    expect(await tools.run('bash', '{"command": "ls"}')).toEqual({
      ok: false,
      content: 'error: there is no tool "bash" for planning; use one of: list_files, read_file, search, or answer with the plan',
    });
  });

  it('suggests a file whose name differs by a leading "_" (relay trial citty: src/utils.ts for src/_utils.ts)', async () => {
    // A path the commit does not have is answered from its file list, before git is asked.
    const underscore = new BaseTreeTools(new SafeGit(20_000), dir.path, 'HEAD', [{ path: 'src/_utils.ts', size: 20 }], new Set(['read_file']));
    expect((await underscore.run('read_file', '{"path": "src/utils.ts"}')).content).toBe(
      'error: path "src/utils.ts" does not exist; did you mean src/_utils.ts?',
    );
  });

  it('offers a planner only the reading tools its vault file lists', () => {
    expect(plannerTools(['read_file', 'write_file', 'run_command', 'search'])).toEqual(['read_file', 'search']);
    expect(plannerTools([])).toEqual([]);
  });
});
