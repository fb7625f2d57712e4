import { aliasedCall, withAliasNote } from './tool-aliases.js';

const CODER = new Set(['list_files', 'read_file', 'search', 'write_file', 'edit_file', 'run_command', 'finish']);
const PLANNER = new Set(['list_files', 'read_file', 'search']);

describe('aliasedCall', () => {
  it('runs a shell tool of another family as run_command, with a note naming the tool (relay trial citty: bash)', () => {
    for (const name of ['bash', 'shell', 'sh', 'exec', 'execute_command', 'run_shell_command', 'terminal', 'Bash'])
      expect(aliasedCall(name, '{"command": "npx vitest run"}', CODER)).toEqual({
        tool: 'run_command',
        rawArgs: '{"command":"npx vitest run"}',
        note: '[ran as run_command; the tool is called run_command]',
      });
    expect(aliasedCall('bash', '{"command": "ls", "timeout_seconds": 30,}', CODER)?.rawArgs).toBe('{"command":"ls","timeout_seconds":30}');
    // Codex's shell takes an argv array: the names map, and run_command's own check says what it takes.
    expect(aliasedCall('shell', '{"command": ["bash", "-lc", "ls"]}', CODER)?.tool).toBe('run_command');
  });

  it('maps reading, listing and writing tools where the arguments say the same', () => {
    expect(aliasedCall('cat', '{"path": "src/a.ts"}', CODER)).toMatchObject({ tool: 'read_file', rawArgs: '{"path":"src/a.ts"}' });
    expect(aliasedCall('view_file', '{"file_path": "src/a.ts", "start_line": 3}', CODER)).toMatchObject({
      tool: 'read_file',
      rawArgs: '{"path":"src/a.ts","start_line":3}',
    });
    expect(aliasedCall('open_file', '{"path": "a"}', CODER)?.tool).toBe('read_file');
    expect(aliasedCall('ls', '{}', CODER)).toMatchObject({ tool: 'list_files', rawArgs: '{}' });
    expect(aliasedCall('list_dir', '{"path": "src"}', CODER)?.tool).toBe('list_files');
    expect(aliasedCall('create_file', '{"file_path": "a.ts", "content": "x"}', CODER)).toMatchObject({
      tool: 'write_file',
      rawArgs: '{"path":"a.ts","content":"x"}',
    });
    // Our own names in another case.
    expect(aliasedCall('Read_File', '{"path": "a"}', CODER)).toMatchObject({ tool: 'read_file', note: '[ran as read_file; the tool is called read_file]' });
  });

  it('leaves the call alone when its tool is not offered, so it is refused with the list of tools', () => {
    expect(aliasedCall('bash', '{"command": "ls"}', PLANNER)).toBeUndefined();
    expect(aliasedCall('create_file', '{"path": "a", "content": "x"}', PLANNER)).toBeUndefined();
    expect(aliasedCall('cat', '{"path": "a"}', PLANNER)?.tool).toBe('read_file');
  });

  it("reads Claude Code's Read offset and limit as a line range, and says so beside the tool's name", () => {
    expect(aliasedCall('read', '{"file_path": "a", "offset": 1, "limit": 10}', CODER)).toEqual({
      tool: 'read_file',
      rawArgs: '{"path":"a","start_line":1,"end_line":10}',
      note: "[ran as read_file; the tool is called read_file]\n[arguments read as read_file's: offset 1, limit 10 -> start_line 1, end_line 10]",
    });
  });

  it('leaves the call alone when an argument does not map unambiguously, or the name is ours or no tool', () => {
    // Claude Code's Bash takes a restart (its Read's offset and limit are read as a line range, below).
    expect(aliasedCall('bash', '{"command": "ls", "restart": true}', CODER)).toBeUndefined();
    expect(aliasedCall('read', '{"file_path": "a", "offset": 1, "limit": "all"}', CODER)).toBeUndefined();
    expect(aliasedCall('cat', '{"path": "a", "file_path": "b"}', CODER)).toBeUndefined();
    expect(aliasedCall('bash', '{"script": "ls"}', CODER)).toBeUndefined();
    expect(aliasedCall('bash', '{}', CODER)).toBeUndefined();
    expect(aliasedCall('bash', 'ls -la', CODER)).toBeUndefined();
    expect(aliasedCall('bash', '{"command": "ls", "toString": 1}', CODER)).toBeUndefined();
    expect(aliasedCall('run_command', '{"command": "ls"}', CODER)).toBeUndefined();
    expect(aliasedCall('constructor', '{}', CODER)).toBeUndefined();
    expect(aliasedCall('grep', '{"pattern": "x"}', CODER)).toBeUndefined();
  });

  it('puts the note before the result', () => {
    expect(withAliasNote('[ran as x]', { ok: true, content: 'out' })).toEqual({ ok: true, content: '[ran as x]\nout' });
  });
});
