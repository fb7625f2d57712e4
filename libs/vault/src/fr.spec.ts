import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@agency/testing';
import { FrParseError, frIdFromFileName, parseFr, sectionItems } from './fr.parser.js';
import { updateFr } from './fr.writer.js';

const GOOD = `---
id: FR-054
title: LLM provider abstraction
priority: high
repo: acme/app
depends_on: [FR-009]
# a comment the writer must keep
---

## Problem

Agents call vendors directly.

## Phases

1. Define the provider interface in \`src/llm/provider.ts\`
2. Add the OpenAI provider

### Notes inside phases
- not a phase

## Acceptance criteria

- [ ] A provider is swapped by configuration
- [x] No vendor call outside src/llm/
`;

describe('parseFr', () => {
  it('reads front matter and the body lists', () => {
    const fr = parseFr(GOOD, '10_features/03_planned/FR-054-llm.md');
    expect(fr).toMatchObject({
      id: 'FR-054',
      title: 'LLM provider abstraction',
      priority: 'high',
      repo: 'acme/app',
      base: 'main',
      status: 'planned',
      dependsOn: ['FR-009'],
      phases: ['Define the provider interface in `src/llm/provider.ts`', 'Add the OpenAI provider'],
      acceptanceCriteria: ['A provider is swapped by configuration', 'No vendor call outside src/llm/'],
    });
    expect(fr.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(fr.body.startsWith('## Problem')).toBe(true);
  });

  it('prefers phases and criteria given in front matter, and fills defaults', () => {
    const fr = parseFr('---\nid: FR-1\ntitle: T\nphases: [one, two]\nacceptance_criteria: [ok]\n---\nbody', 'x.md', { repo: 'default/repo', base: 'develop' });
    expect(fr).toMatchObject({ phases: ['one', 'two'], acceptanceCriteria: ['ok'], repo: 'default/repo', base: 'develop', priority: 'medium' });
  });

  it.each([
    ['no front matter at all', '# Just a title\n', /must start with a line "---"/],
    ['an unclosed front matter', '---\nid: FR-1\n', /no closing "---" line/],
    ['broken YAML, with the file line', '---\nid: FR-1\ntitle: [unclosed\npriority: high\n---\n', /YAML error at line 4/],
    ['a list as front matter', '---\n- a\n---\n', /must be a YAML mapping/],
  ])('rejects %s', (_name, text, pattern) => {
    expect(() => parseFr(text, 'f.md')).toThrow(pattern);
  });

  it('names every bad field at once', () => {
    try {
      parseFr('---\nid: feature one\npriority: urgent\ndepends_on: [later]\nphases: 3\n---\n', '10_features/03_planned/x.md');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FrParseError);
      const problems = (e as FrParseError).problems.join('\n');
      expect(problems).toMatch(/id: "feature one" must look like FR-054/);
      expect(problems).toMatch(/title: required/);
      expect(problems).toMatch(/priority: "urgent" must be one of critical, high, medium, low/);
      expect(problems).toMatch(/repo: required/);
      expect(problems).toMatch(/depends_on: "later" is not an FR id/);
      expect(problems).toMatch(/phases: must be a list of strings/);
      expect((e as Error).message).toContain('10_features/03_planned/x.md');
    }
  });

  it('finds list items under a heading only', () => {
    expect(sectionItems('## Phases\n- a\n* b\n3) c\n## Next\n- d', /^phases/i)).toEqual(['a', 'b', 'c']);
    expect(sectionItems('no headings', /^phases/i)).toEqual([]);
    expect(sectionItems('## Phases\n### Phase 1: api\n- x\n### Phase 2: ui\n## Other', /^phases/i)).toEqual(['Phase 1: api', 'Phase 2: ui']);
  });

  it('guesses the id of a broken file from its name', () => {
    expect(frIdFromFileName('10_features/03_planned/FR-077-thing.md')).toBe('FR-077');
    expect(frIdFromFileName('notes.md')).toBeUndefined();
  });
});

describe('updateFr', () => {
  const setup = () => {
    const dir = tempDir('vault-');
    mkdirSync(join(dir.path, '10_features', '03_planned'), { recursive: true });
    writeFileSync(join(dir.path, '10_features/03_planned/FR-054-llm.md'), GOOD);
    return dir;
  };

  it('moves the file, sets status and fields, keeps comments and appends to the log', () => {
    const dir = setup();
    const now = new Date(Date.UTC(2026, 10, 24, 9, 0, 0));
    const path = updateFr(dir.path, '10_features/03_planned/FR-054-llm.md', { folder: 'inProgress', fields: { agency_saga: 'FR-054-r1' }, log: 'planning: started' }, now);
    expect(path).toBe('10_features/04_in_progress/FR-054-llm.md');
    const text = readFileSync(join(dir.path, path), 'utf8');
    expect(text).toMatch(/^status: in_progress$/m);
    expect(text).toMatch(/^agency_saga: FR-054-r1$/m);
    expect(text).toContain('# a comment the writer must keep');
    expect(text).toContain('## Agency log\n\n- 2026-11-24T09:00:00Z planning: started\n');
    const again = updateFr(dir.path, path, { folder: 'inReview', fields: { pr: 'local://acme/app/pulls/1', agency_saga: null }, log: 'PR opened' }, now);
    const text2 = readFileSync(join(dir.path, again), 'utf8');
    expect(text2).toMatch(/^pr: local:\/\/acme\/app\/pulls\/1$/m);
    expect(text2).not.toMatch(/agency_saga/);
    expect(text2.match(/## Agency log/g)).toHaveLength(1);
    expect(text2).toMatch(/- 2026-11-24T09:00:00Z planning: started\n- 2026-11-24T09:00:00Z PR opened\n$/);
    // The parser still reads it, with the body's own sections intact.
    expect(parseFr(text2, again).acceptanceCriteria).toHaveLength(2);
    dir.remove();
  });

  it('moves and annotates a file whose front matter is broken, without touching the rest', () => {
    const dir = setup();
    const broken = '---\ntitle: [oops\n---\nbody\n';
    writeFileSync(join(dir.path, '10_features/03_planned/FR-9-x.md'), broken);
    const path = updateFr(dir.path, '10_features/03_planned/FR-9-x.md', { folder: 'blocked', fields: { blocked_reason: 'bad' }, log: 'blocked: YAML error' });
    const text = readFileSync(join(dir.path, path), 'utf8');
    expect(path).toBe('10_features/09_blocked/FR-9-x.md');
    expect(text.startsWith(broken.trimEnd())).toBe(true);
    expect(text).toMatch(/## Agency log\n\n- \S+ blocked: YAML error\n$/);
    dir.remove();
  });

  it('refuses to overwrite a file already in the target folder', () => {
    const dir = setup();
    mkdirSync(join(dir.path, '10_features/06_done'), { recursive: true });
    writeFileSync(join(dir.path, '10_features/06_done/FR-054-llm.md'), GOOD);
    expect(() => updateFr(dir.path, '10_features/03_planned/FR-054-llm.md', { folder: 'done' })).toThrow(/already exists/);
    dir.remove();
  });
});
