import { bodyForPrompt, listItem, nestedHeadings, withoutSections } from './fr-sections.js';

describe('FR body sections for prompts', () => {
  const body =
    '## Problem\n\nNo goodbye.\n\n## Phases\n\n1. Add it\n2. Test it\n\n### Details\n\nnested\n\n## Acceptance criteria\n\n- works\n\n## Notes\n\nKeep it small.\n';

  it('leaves out the sections of phases and criteria that the prompt lists on their own', () => {
    expect(bodyForPrompt({ body, phases: ['Add it', 'Test it'], acceptanceCriteria: ['works'] })).toBe(
      '### Problem\n\nNo goodbye.\n\n### Notes\n\nKeep it small.',
    );
  });

  it('keeps a section whose list came out empty (front matter gave none and the body has prose)', () => {
    expect(bodyForPrompt({ body, phases: [], acceptanceCriteria: ['works'] })).toContain('### Phases');
  });

  it('matches headings of any level and leaves the rest as written', () => {
    expect(withoutSections('# Phases\n\n- a\n\n# Other\n\ntext', [/^phases?\b/i])).toBe('# Other\n\ntext');
    expect(withoutSections('text only', [/^phases?\b/i])).toBe('text only');
  });
});

describe('nestedHeadings', () => {
  it("moves the body's headings under the prompt's own, keeping their order of levels, and leaves code alone", () => {
    const body = '# Goal\n\ntext\n\n## Detail\n\n```md\n# not a heading\n```\n\n###### deep';
    expect(nestedHeadings(body, 3)).toBe('### Goal\n\ntext\n\n#### Detail\n\n```md\n# not a heading\n```\n\n###### deep');
    expect(nestedHeadings('### Already deep\n\ntext', 3)).toBe('### Already deep\n\ntext');
    expect(nestedHeadings('no headings at all', 3)).toBe('no headings at all');
  });

  it('listItem indents continuation lines under the text and leaves blank lines blank', () => {
    expect(listItem('- [ ] ', ' first\nsecond\n\n- nested ')).toBe('- [ ] first\n      second\n\n      - nested');
    expect(listItem('10. ', 'one line')).toBe('10. one line');
  });
});
