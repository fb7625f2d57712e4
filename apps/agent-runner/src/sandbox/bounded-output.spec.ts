import { BoundedOutput } from './bounded-output.js';

describe('BoundedOutput', () => {
  it('keeps everything under the bound', () => {
    const out = new BoundedOutput(100);
    out.append(Buffer.from('hello '));
    out.append(Buffer.from('world'));
    expect(out.toString()).toBe('hello world');
    expect(out.truncated).toBe(false);
    expect(out.totalBytes).toBe(11);
  });

  it('keeps the start and the end and says how much was dropped', () => {
    const out = new BoundedOutput(40);
    for (let i = 0; i < 100; i += 1) out.append(Buffer.from(`line ${String(i).padStart(3, '0')}\n`));
    const text = out.toString();
    expect(out.truncated).toBe(true);
    expect(out.totalBytes).toBe(900);
    expect(text.startsWith('line 000\nl')).toBe(true);
    expect(text.endsWith('line 098\nline 099\n')).toBe(true);
    expect(text).toContain('[... 860 bytes of output omitted ...]');
  });

  it('handles one chunk larger than the whole bound', () => {
    const out = new BoundedOutput(20);
    out.append(Buffer.from('a'.repeat(5) + 'b'.repeat(100) + 'c'.repeat(15)));
    expect(out.toString()).toBe(`aaaaa\n[... 100 bytes of output omitted ...]\n${'c'.repeat(15)}`);
  });

  it('takes its end from elsewhere when the sandbox kept the tail itself', () => {
    const out = new BoundedOutput(40);
    out.append(Buffer.from('0123456789abcdefghij0123456789abcdefghij'));
    out.finishWith(1000, Buffer.from(`${'x'.repeat(100)}THE END`));
    expect(out.totalBytes).toBe(1000);
    expect(out.truncated).toBe(true);
    expect(out.toString()).toBe(`0123456789\n[... 960 bytes of output omitted ...]\n${'x'.repeat(23)}THE END`);
  });

  it('refuses a silly bound', () => {
    expect(() => new BoundedOutput(3)).toThrow('maxBytes');
  });

  it('gives the output without colours or cursor moves (picocolors colours under CI=true, and the sandbox sets no NO_COLOR)', () => {
    const out = new BoundedOutput(1000);
    out.append(Buffer.from('\x1b[32m✓\x1b[39m test/a.test.ts \x1b[2m(3 tests)\x1b[22m\n\x1b]8;;https://x\x07link\x1b]8;;\x07\n'));
    expect(out.toString()).toBe('✓ test/a.test.ts (3 tests)\nlink\n');
  });
});
