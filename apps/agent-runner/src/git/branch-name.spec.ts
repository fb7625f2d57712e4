import { branchName, isSafeRefName, slugify } from './branch-name.js';

describe('slugify', () => {
  it('lowercases and keeps a-z, 0-9 and single dashes', () => {
    expect(slugify('Add a Farewell() function!')).toBe('add-a-farewell-function');
    expect(slugify('  --Hello___World--  ')).toBe('hello-world');
    expect(slugify('v2 API: 100% done')).toBe('v2-api-100-done');
  });

  it('folds accents and drops other scripts', () => {
    expect(slugify('Crème brûlée über naïve')).toBe('creme-brulee-uber-naive');
    expect(slugify('日本語 title')).toBe('title');
  });

  it('cuts at 40 characters between words, without a trailing dash', () => {
    const slug = slugify('Make the greeter say goodbye politely in every supported language');
    expect(slug.length).toBeLessThanOrEqual(40);
    expect(slug).toBe('make-the-greeter-say-goodbye-politely-in');
    expect(slugify('aaaaaaaaa bbbbbbbbb ccccccccc ddddddddd eeee')).toBe('aaaaaaaaa-bbbbbbbbb-ccccccccc-ddddddddd');
    expect(slugify('a'.repeat(39) + ' b')).toBe('a'.repeat(39));
    // Not mid-word (a pathe trial's branch ended in "-li").
    expect(slugify('posix and win32 exports do not behave like their namespaces')).toBe('posix-and-win32-exports-do-not-behave');
    // One word longer than the limit is cut where it must be.
    expect(slugify('x'.repeat(50))).toBe('x'.repeat(40));
  });

  it('is empty when nothing usable is left', () => {
    expect(slugify('!!! ???')).toBe('');
  });
});

describe('branchName', () => {
  it('is agency/<frId>-<slug>', () => {
    expect(branchName('FR-001', 'Add a farewell function')).toBe('agency/FR-001-add-a-farewell-function');
  });

  it('is agency/<frId> when the title has no usable characters', () => {
    expect(branchName('FR-7', '???')).toBe('agency/FR-7');
  });

  it('always gives a safe ref name', () => {
    for (const title of ['..', '-x', 'a..b', '.lock', 'x/../y']) expect(isSafeRefName(branchName('FR-1', title))).toBe(true);
  });
});

describe('isSafeRefName', () => {
  it('accepts ordinary branch names', () => {
    for (const name of ['main', 'release/1.2', 'agency/FR-1-x', 'feature_x']) expect(isSafeRefName(name)).toBe(true);
  });

  it('refuses options, ranges, hidden parts and odd characters', () => {
    for (const name of ['-main', '--upload-pack=x', 'a..b', '/main', 'main/', 'a//b', 'x.lock', '.hidden', 'a/.b', 'HEAD~1', 'main^', 'a b', 'ma:in', '']) {
      expect(isSafeRefName(name)).toBe(false);
    }
  });
});
