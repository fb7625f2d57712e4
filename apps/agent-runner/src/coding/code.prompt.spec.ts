import { sampleFr, sampleRepo } from '@agency/contracts/testing';
import type { AgentDefinition } from '@agency/vault';
import { UnsafePathError } from '../files/path-guard.js';
import type { Plan } from '../planning/plan.answer.js';
import { parseCodeAnswer } from './code.answer.js';
import { buildCodeMessages, contextPaths } from './code.prompt.js';

const coder: AgentDefinition = { role: 'coder', model: 'coder', maxSteps: 30, maxTokens: 8192, temperature: 0, tools: [], systemPrompt: 'You are the coder.' };
const plan: Plan = {
  summary: 'Add farewell() and a test.',
  steps: [
    { title: 'Add farewell()', files: ['src/farewell.js'], detail: 'Return `Goodbye, ${name}!`.' },
    { title: 'Test it', files: ['test/farewell.test.js', 'src/greet.js'], detail: '' },
  ],
  risks: ['Name may be empty'],
};
const tree = [
  { path: 'package.json', size: 200 },
  { path: 'README.md', size: 90 },
  { path: 'src/greet.js', size: 98 },
  { path: 'test/greet.test.js', size: 180 },
];

describe('contextPaths', () => {
  it('picks existing planned files, package.json and a neighbour for each new file', () => {
    expect(contextPaths(plan, [], tree)).toEqual(['src/greet.js', 'package.json', 'test/greet.test.js']);
  });

  it('adds files named by findings and respects the cap', () => {
    const finding = { file: 'README.md', severity: 'minor' as const, message: 'Document farewell', blocking: false };
    expect(contextPaths(plan, [finding], tree)).toContain('README.md');
    expect(contextPaths(plan, [finding], tree, 2)).toEqual(['src/greet.js', 'README.md']);
  });
});

describe('buildCodeMessages', () => {
  const base = { fr: sampleFr(), repo: sampleRepo(), plan, tree, contents: [{ path: 'src/greet.js', content: 'export function greet() {}\n' }], findings: [] };

  it('gives the first round FR, plan, repository and current files', () => {
    const [system, user] = buildCodeMessages(coder, { ...base, round: 1 });
    expect(system).toEqual({ role: 'system', content: 'You are the coder.' });
    const text = String(user!.content);
    expect(text).toContain('Feature request FR-1');
    expect(text).toContain('# Plan\n\nAdd farewell() and a test.\n\n1. Add farewell() (src/farewell.js)\n   Return `Goodbye, ${name}!`.');
    expect(text).toContain('Risks:\n- Name may be empty');
    expect(text).toContain('## src/greet.js\n\n```\nexport function greet() {}\n```');
    expect(text).toContain('Round 1. Implement the plan.');
    expect(text).not.toContain('Review findings');
    expect(text).not.toContain('Failing tests');
  });

  it('adds findings and failing test output in a fix round', () => {
    const finding = { file: 'src/farewell.js', line: 3, severity: 'major' as const, message: 'Trim the name', suggestion: 'name.trim()', blocking: true };
    const text = String(buildCodeMessages(coder, { ...base, round: 2, findings: [finding], testFailures: 'not ok 1 - farewell\n# fail 1' })[1]!.content);
    expect(text).toContain('# Review findings to address\n\n- [major, blocking] src/farewell.js:3: Trim the name Suggestion: name.trim()');
    expect(text).toContain('# Failing tests of the previous round\n\n```\nnot ok 1 - farewell\n# fail 1\n```');
    expect(text).toContain("Round 2. The files above already hold the earlier rounds' work");
  });

  it('explains the tools instead of the JSON format when the agent has tools, keeping JSON as a fallback', () => {
    const text = String(buildCodeMessages(coder, { ...base, round: 1, tools: { workdir: '/workspace/repo' } })[1]!.content);
    expect(text).toContain('Work in the repository with the tools');
    expect(text).toContain('run_command to run commands such as the tests (`npm test`)');
    expect(text).toContain('call finish with a short summary');
    expect(text).toContain('If you cannot call tools, answer instead with one JSON object');
  });

  it('lists files left out when the contents are too long', () => {
    const huge = [{ path: 'a.js', content: 'x'.repeat(149_000) }, { path: 'b.js', content: 'y'.repeat(5000) }];
    const text = String(buildCodeMessages(coder, { ...base, round: 1, contents: huge })[1]!.content);
    expect(text).toContain('## a.js');
    expect(text).toContain('(Not shown, to keep the prompt short: b.js.)');
  });
});

describe('parseCodeAnswer', () => {
  const file = { path: 'src/farewell.js', content: 'export const x = 1;\n' };

  it('accepts the documented shape and normalizes paths', () => {
    expect(parseCodeAnswer({ summary: ' Added farewell ', files: [{ ...file, path: './src/farewell.js' }] })).toEqual({ summary: 'Added farewell', files: [file] });
  });

  it.each([
    [{ files: [file] }, 'summary must be a string'],
    [{ summary: 's', files: [] }, 'files must have at least 1 item'],
    [{ summary: 's', files: [{ path: 'a.js' }] }, 'files[0].content must be a string'],
    [{ summary: 's', files: [{ path: '../escape.js', content: '' }] }, 'files[0].path: path "../escape.js" contains ".." and would leave the repository'],
    [{ summary: 's', files: [{ path: '/etc/passwd', content: '' }] }, 'files[0].path: path "/etc/passwd" is absolute'],
    [{ summary: 's', files: [file, { ...file, path: 'src//farewell.js' }] }, 'files[1].path: "src/farewell.js" appears more than once'],
  ])('refuses %j', (value, message) => {
    expect(() => parseCodeAnswer(value)).toThrow(message);
  });

  it('turns the on-disk check into a field error', () => {
    const onDisk = (p: string) => {
      throw new UnsafePathError(p, 'is a symlink pointing outside the repository (link -> /etc)');
    };
    expect(() => parseCodeAnswer({ summary: 's', files: [{ path: 'link', content: '' }] }, onDisk)).toThrow('files[0].path: path "link" is a symlink pointing outside the repository');
  });
});
