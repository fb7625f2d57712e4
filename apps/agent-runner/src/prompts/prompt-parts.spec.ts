import { sampleFr } from '@agency/contracts/testing';
import { bounded, fence, frSection, repoMap } from './prompt-parts.js';

describe('prompt parts', () => {
  it('bounded cuts long text and says how much', () => {
    expect(bounded('short', 10, 'x')).toBe('short');
    expect(bounded('0123456789abc', 10, 'FR body')).toBe('0123456789\n[... FR body cut: 3 more characters not shown ...]');
  });

  it('fence uses a fence longer than any inside the content', () => {
    expect(fence('a\n')).toBe('```\na\n```');
    expect(fence('x ```` y', 'js')).toBe('`````js\nx ```` y\n`````');
  });

  it('frSection shows title, body, phases and criteria', () => {
    const text = frSection(sampleFr());
    expect(text).toContain('# Feature request FR-1: Add a greeting');
    expect(text).toContain('## Problem\nNo greeting.');
    expect(text).toContain('## Phases\n\n1. Phase 1: add greet()');
    expect(text).toContain('## Acceptance criteria\n\n- greet("Ada") returns "Hello, Ada!"');
  });

  it('frSection keeps a multi-line phase or criterion one item: continuation lines indented under its text', () => {
    const fr = { ...sampleFr(), phases: ['API\n1. types'], acceptanceCriteria: ['Keeps case\nafter a number (`locale`).', 'works'] };
    const text = frSection(fr);
    expect(text).toContain('## Phases\n\n1. API\n   1. types');
    expect(text).toContain('## Acceptance criteria\n\n- Keeps case\n  after a number (`locale`).\n- works');
  });

  it('repoMap lists sorted files with sizes', () => {
    expect(
      repoMap([
        { path: 'src/b.js', size: 2048 },
        { path: 'README.md', size: 12 },
        { path: 'big.bin', size: 3 * 1024 * 1024 },
      ]),
    ).toBe('README.md (12 B)\nbig.bin (3.0 MB)\nsrc/b.js (2.0 KB)');
    expect(repoMap([])).toBe('(the repository has no files yet)');
  });

  it('repoMap caps files and characters and says how many are left out', () => {
    const files = Array.from({ length: 50 }, (_, i) => ({ path: `src/file-${String(i).padStart(2, '0')}.js`, size: 10 }));
    const byCount = repoMap(files, { maxFiles: 5, maxChars: 100_000 }).split('\n');
    expect(byCount).toHaveLength(6);
    expect(byCount[5]).toBe('[... 45 more file(s) not listed ...]');
    const byChars = repoMap(files, { maxFiles: 1000, maxChars: 100 });
    expect(byChars.length).toBeLessThan(160);
    expect(byChars).toMatch(/\[\.\.\. 4\d more file\(s\) not listed \.\.\.\]$/);
  });
});
