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

  it('reads a bug report\'s Expected section as its criteria when it has no Acceptance criteria (a trial\'s reviewer read "none listed")', () => {
    const fr = (body: string) => parseFr(`---\nid: FR-9\ntitle: Bug\nrepo: a/b\n---\n${body}`, 'x.md').acceptanceCriteria;
    expect(
      fr('## Problem\n\n`posix.win32` is undefined.\n\n## Expected\n\n- `posix.win32` is the win32 namespace\n- `posix.delimiter` is always ":"\n'),
    ).toEqual(['`posix.win32` is the win32 namespace', '`posix.delimiter` is always ":"']);
    expect(fr('## Problem\n\nIt breaks.\n\n## Expected behavior\n\nEach namespace keeps its own delimiter,\nwhatever the platform.\n\n## Notes\n\nx')).toEqual([
      'Each namespace keeps its own delimiter,\nwhatever the platform.',
    ]);
    // Acceptance criteria win; an "Expected" that is something else is not read.
    expect(fr('## Expected\n\n- e\n\n## Acceptance criteria\n\n- a\n')).toEqual(['a']);
    expect(fr('## Expected changes to the API\n\n- x\n')).toEqual([]);
  });

  it('keeps a multi-line item whole: continuation lines and nested sub-items stay under it', () => {
    const body = [
      '## Acceptance criteria',
      '',
      '- [ ] `farewell(name)` returns "Goodbye, <name>!"',
      '      for every name, trimmed',
      '- Errors are reported:',
      '  - an empty name throws `TypeError`',
      '  - a non-string name throws `TypeError`',
      '',
      '  with the message naming the argument.',
      '- A lazy line',
      'right after its item',
      '',
      'A paragraph after the list.',
      '## Phases',
      '1. API',
      '   1. types',
      '   2. errors',
      '2. UI',
    ].join('\n');
    expect(sectionItems(body, /^acceptance/i)).toEqual([
      '`farewell(name)` returns "Goodbye, <name>!"\n    for every name, trimmed',
      'Errors are reported:\n- an empty name throws `TypeError`\n- a non-string name throws `TypeError`\n\nwith the message naming the argument.',
      'A lazy line\nright after its item',
    ]);
    expect(sectionItems(body, /^phases/i)).toEqual(['API\n1. types\n2. errors', 'UI']);
  });

  it("leaves the agency's own log out of the body the agents see, and out of the content hash", () => {
    const written = `${GOOD}\n## Agency log\n\n- 2026-11-24T09:00:00Z failed: the planner answered {"verdict": "the FR mentions dependencies"}\n`;
    const fr = parseFr(written, 'x.md');
    expect(fr.body).not.toContain('Agency log');
    expect(fr.body).not.toContain('the FR mentions dependencies');
    expect(fr.body.endsWith('- [x] No vendor call outside src/llm/')).toBe(true);
    expect(fr.acceptanceCriteria).toEqual(['A provider is swapped by configuration', 'No vendor call outside src/llm/']);
    // The agency's write-back (its fields, its log) leaves the hash as it was; a person's edit changes it.
    const annotated = written.replace('priority: high\n', 'priority: high\nagency_saga: FR-054-r2\ncost_usd: 0.12\nstatus: blocked\n');
    expect(parseFr(annotated, 'x.md').contentHash).toBe(parseFr(GOOD, 'x.md').contentHash);
    expect(parseFr(GOOD.replace('Add the OpenAI provider', 'Add the Anthropic provider'), 'x.md').contentHash).not.toBe(parseFr(GOOD, 'x.md').contentHash);
    // A section of the person's after the log is kept.
    expect(parseFr(`${written}\n## Notes\n\nkeep me\n`, 'x.md').body).toContain('## Notes\n\nkeep me');
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
    const path = updateFr(
      dir.path,
      '10_features/03_planned/FR-054-llm.md',
      { folder: 'inProgress', fields: { agency_saga: 'FR-054-r1' }, log: 'planning: started' },
      now,
    );
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

  it("appends a transition's log line once: a repeat of the same saga's transition only moves and annotates", () => {
    const dir = setup();
    const at = new Date(Date.UTC(2026, 10, 24, 9, 0, 0));
    const seq = (n: number, saga = 'FR-054-r1') => ({ seq: { saga, seq: n } });
    let path = updateFr(
      dir.path,
      '10_features/03_planned/FR-054-llm.md',
      { folder: 'inProgress', fields: { agency_saga: 'FR-054-r1' }, log: 'taken', ...seq(1) },
      at,
    );
    path = updateFr(dir.path, path, { folder: 'inProgress', fields: { agency_saga: 'FR-054-r1' }, log: 'taken', ...seq(1) }, at);
    path = updateFr(dir.path, path, { folder: 'inReview', fields: { agency_saga: 'FR-054-r1', pr: 'u' }, log: 'PR opened', ...seq(2) }, at);
    path = updateFr(dir.path, path, { folder: 'inReview', fields: { agency_saga: 'FR-054-r1' }, log: 'PR opened', ...seq(2) }, at);
    // A new run counts from the start again.
    path = updateFr(dir.path, path, { folder: 'inProgress', fields: { agency_saga: 'FR-054-r2' }, log: 'taken (run 2)', ...seq(1, 'FR-054-r2') }, at);
    const text = readFileSync(join(dir.path, path), 'utf8');
    expect(text.match(/^- .*$/gm)?.filter((l) => l.includes('Z '))).toEqual([
      '- 2026-11-24T09:00:00Z taken',
      '- 2026-11-24T09:00:00Z PR opened',
      '- 2026-11-24T09:00:00Z taken (run 2)',
    ]);
    expect(text).toMatch(/^agency_seq: 1$/m);
    expect(parseFr(text, path).contentHash).toBe(parseFr(GOOD, path).contentHash);
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
