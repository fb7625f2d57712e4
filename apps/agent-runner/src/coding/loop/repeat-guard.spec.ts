import { canonicalArgs, RepeatGuard } from './repeat-guard.js';

describe('RepeatGuard', () => {
  it('counts the same tool with the same arguments, whatever their key order', () => {
    const guard = new RepeatGuard(3);
    expect(guard.record('read_file', '{"path":"a","start_line":1}')).toBe(1);
    expect(guard.record('read_file', '{"start_line":1, "path":"a"}')).toBe(2);
    expect(guard.record('read_file', '{"path":"b"}')).toBe(1);
    expect(guard.record('search', '{"path":"a","start_line":1}')).toBe(1);
    expect(guard.record('read_file', '{ "path": "a", "start_line": 1 }')).toBe(3);
  });

  it('starts over after a change', () => {
    const guard = new RepeatGuard(3);
    guard.record('run_command', '{"command":"npm test"}');
    guard.record('run_command', '{"command":"npm test"}');
    guard.changed();
    expect(guard.record('run_command', '{"command":"npm test"}')).toBe(1);
  });

  it('refuses a limit that would stop every first action', () => {
    expect(() => new RepeatGuard(1)).toThrow('at least 2');
  });

  it('canonicalArgs sorts nested keys and keeps text that is not JSON', () => {
    expect(canonicalArgs('{"b":{"y":1,"x":2},"a":[{"d":1,"c":2}]}')).toBe('{"a":[{"c":2,"d":1}],"b":{"x":2,"y":1}}');
    expect(canonicalArgs(' not json ')).toBe('not json');
    expect(canonicalArgs('')).toBe('{}');
  });
});

describe('RepeatGuard.check', () => {
  it('warns the first time the limit is reached, then stops on the next repeat', () => {
    const guard = new RepeatGuard(3);
    const verdicts = Array.from({ length: 4 }, () => guard.check('run_command', '{"command":"npm test"}').verdict);
    expect(verdicts).toEqual(['ok', 'ok', 'warn', 'stop']);
  });

  it('warns again after a change, since the count and the warning start over', () => {
    const guard = new RepeatGuard(2);
    expect(guard.check('read_file', '{"path":"a"}').verdict).toBe('ok');
    expect(guard.check('read_file', '{"path":"a"}').verdict).toBe('warn');
    guard.changed();
    expect(guard.check('read_file', '{"path":"a"}').verdict).toBe('ok');
    expect(guard.check('read_file', '{"path":"a"}').verdict).toBe('warn');
    expect(guard.check('read_file', '{"path":"a"}').verdict).toBe('stop');
  });
});
