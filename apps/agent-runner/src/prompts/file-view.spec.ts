import { fileView, VIEW_LIMITS } from './file-view.js';

describe('fileView', () => {
  it('shows a short file whole, with line numbers', () => {
    expect(fileView('src/a.js', 'const a = 1;\nmodule.exports = { a };\n')).toEqual({ text: '1\tconst a = 1;\n2\tmodule.exports = { a };', whole: true });
  });

  it('shows a long source file to change as an outline of its declarations', () => {
    const body = Array.from({ length: 600 }, (_, i) =>
      i % 50 === 0 ? `export function f${i}(x) {` : i % 50 === 49 ? '}' : `  return x + ${i}; // some padding to make the file long enough`,
    );
    const view = fileView('src/long.ts', body.join('\n'));
    expect(view.whole).toBe(false);
    expect(view.text.split('\n')[0]).toMatch(/^\[outline: 600 lines, \d+ characters; its declarations with their line numbers; read_file to see the code\]$/);
    expect(view.text).toContain('  1\texport function f0(x) {');
    expect(view.text).toContain('551\texport function f550(x) {');
    expect(view.text).not.toContain('return x +');
  });

  it('shows a long neighbour to imitate only by its first lines', () => {
    const test = Array.from({ length: 900 }, (_, i) => `test('case ${i}', () => { assert.equal(fn(${i}), ${i}); });`).join('\n');
    expect(test.length).toBeGreaterThan(VIEW_LIMITS.wholeChars);
    const view = fileView('test/index.test.js', test, { purpose: 'imitate' });
    expect(view.whole).toBe(false);
    const lines = view.text.split('\n');
    expect(lines[0]).toBe(`[the first ${VIEW_LIMITS.excerptLines} of 900 lines; read_file to see more]`);
    expect(lines).toHaveLength(VIEW_LIMITS.excerptLines + 1);
    expect(view.text.length).toBeLessThan(test.length / 5);
  });

  it('falls back to the first lines where no outline can be made', () => {
    const data = Array.from({ length: 2000 }, (_, i) => `row ${i},${i * 2},${i * 3}`).join('\n');
    expect(fileView('data/rows.csv', data).text.split('\n')[0]).toBe('[the first 40 of 2000 lines; read_file to see more]');
  });

  it("outlines declarations, not a function body's statements (a relay trial's outline listed them)", () => {
    const code = [
      'export interface Options {',
      '  separators?: string[];',
      '}',
      '',
      'export function splitByCase(str: string, separators?: string[]) {',
      '  const splitters = separators ?? STR_SPLITTERS;',
      '  const parts: string[] = [];',
      '  if (!str || typeof str !== "string") {',
      '    return parts;',
      '  }',
      '  for (const char of str) {',
      '    parts.push(char);',
      '  }',
      '  return parts;',
      '}',
      '',
      'export class Cache {',
      '  get(key: string) {',
      '    return key;',
      '  }',
      '  static create(size: number): Cache {',
      '    return new Cache();',
      '  }',
      '}',
      '',
      'export namespace Case {',
      '  export const upper = 1;',
      '}',
      '',
      'const filler = 1;',
      ...Array.from({ length: 200 }, (_, i) => `// filler ${i} ${'x'.repeat(40)}`),
    ].join('\n');
    const lines = fileView('src/index.ts', code).text.split('\n').slice(1);
    expect(lines.map((l) => l.replace(/^ *\d+\t/, ''))).toEqual([
      'export interface Options {',
      'export function splitByCase(str: string, separators?: string[]) {',
      'export class Cache {',
      '  get(key: string) {',
      '  static create(size: number): Cache {',
      'export namespace Case {',
      '  export const upper = 1;',
      'const filler = 1;',
    ]);
  });

  it('outlines nested tests, not only the first level (a relay trial lost the its inside a describe)', () => {
    const code = [
      "describe('parse', () => {",
      "  it('reads one cookie', () => {",
      '    expect(1).toBe(1);',
      '  });',
      "  describe('with allowMultiple', () => {",
      "    it('keeps every value', () => {",
      '      expect(2).toBe(2);',
      '    });',
      "    it.skip('later', () => {});",
      '  });',
      '});',
      ...Array.from({ length: 200 }, (_, i) => `// filler ${i} ${'x'.repeat(40)}`),
    ].join('\n');
    const text = fileView('test/parse.test.ts', code).text;
    const lines = text.slice(0, text.indexOf('\n[its first')).split('\n').slice(1);
    expect(lines.map((l) => l.replace(/^ *\d+\t/, '').trim())).toEqual([
      "describe('parse', () => {",
      "it('reads one cookie', () => {",
      "describe('with allowMultiple', () => {",
      "it('keeps every value', () => {",
      "it.skip('later', () => {});",
    ]);
  });

  it("shows a test file's imports and end under its outline, where new tests go (a trial's coder read both first)", () => {
    const code = [
      "import { describe, it, expect } from 'vitest';",
      "import { defu } from '../src';",
      '',
      "describe('defu', () => {",
      ...Array.from({ length: 120 }, (_, i) => [`  it('case ${i}', () => {`, `    expect(defu({ a: ${i} }, {})).toEqual({ a: ${i} });`, '  });']).flat(),
      '});',
    ].join('\n');
    const text = fileView('test/defu.test.ts', code).text;
    expect(text).toMatch(/^\[outline: 365 lines/);
    expect(text).toContain("[its first 8 lines]\n  1\timport { describe, it, expect } from 'vitest';");
    expect(text).toMatch(/\[its last 15 lines\]\n[\s\S]*365\t\}\);$/);
    // A source file's outline stays an outline.
    expect(fileView('src/defu.ts', code.replace(/describe|it\(/g, 'export function f(')).text).not.toContain('[its first');
  });
});
