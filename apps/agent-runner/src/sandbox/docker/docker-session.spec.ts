import { isFull, parseDf } from './docker-session.js';

describe('parseDf and isFull', () => {
  const output = [
    'Filesystem     1024-blocks  Used Available Capacity Mounted on',
    '/dev/loop3           38868 37884       984      98% /workspace/repo',
    'tmpfs               262144  1024    261120       1% /tmp',
    '',
  ].join('\n');

  it('reads the file systems df -Pk lists', () => {
    expect(parseDf(output)).toEqual([
      { sizeKb: 38868, usedKb: 37884, availableKb: 984, mount: '/workspace/repo' },
      { sizeKb: 262144, usedKb: 1024, availableKb: 261120, mount: '/tmp' },
    ]);
    expect(parseDf('df: /nowhere: No such file or directory\n')).toEqual([]);
  });

  it('is full with less than 1 MB or 2 % left', () => {
    const [worktree, tmp] = parseDf(output);
    expect(isFull(worktree!)).toBe(true);
    expect(isFull(tmp!)).toBe(false);
    expect(isFull({ sizeKb: 10_000_000, usedKb: 9_850_000, availableKb: 150_000, mount: '/big' })).toBe(true);
    expect(isFull({ sizeKb: 10_000_000, usedKb: 9_700_000, availableKb: 300_000, mount: '/big' })).toBe(false);
  });
});
