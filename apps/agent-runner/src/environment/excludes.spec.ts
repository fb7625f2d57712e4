import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@agency/testing';
import { addExcludes, excludePattern } from './excludes.js';

describe('excludes', () => {
  it('anchors each path and escapes what gitignore would read as a pattern', () => {
    expect(excludePattern('node_modules/')).toBe('/node_modules/');
    expect(excludePattern('packages/a/node_modules/')).toBe('/packages/a/node_modules/');
    expect(excludePattern('*weird?[x]#!')).toBe('/\\*weird\\?\\[x\\]\\#\\!');
    expect(excludePattern('trailing ')).toBe('/trailing\\ ');
    expect(excludePattern('two\nlines')).toBeUndefined();
  });

  it("keeps the mirror's own lines and adds to the agency's block without repeating a pattern", () => {
    const dir = tempDir('excludes-');
    try {
      mkdirSync(join(dir.path, 'info'));
      writeFileSync(join(dir.path, 'info', 'exclude'), '# git ls-files --others --exclude-from=.git/info/exclude\n*.swp\n');
      addExcludes(dir.path, ['node_modules/']);
      addExcludes(dir.path, ['node_modules/', '.venv/']);
      expect(readFileSync(join(dir.path, 'info', 'exclude'), 'utf8')).toBe(
        '# git ls-files --others --exclude-from=.git/info/exclude\n*.swp\n# agency: what the repository setup installs (never committed, kept by checkout and clean)\n/node_modules/\n/.venv/\n# agency: end\n',
      );
    } finally {
      dir.remove();
    }
  });
});
