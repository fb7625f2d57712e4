import { sampleFr, sampleRepo } from '@agency/contracts/testing';
import type { AgentDefinition } from '@agency/vault';
import { parsePlan, plannedFiles } from './plan.answer.js';
import { buildPlanMessages } from './plan.prompt.js';

const planner: AgentDefinition = {
  role: 'planner',
  model: 'planner',
  maxSteps: 1,
  maxTokens: 4096,
  temperature: 0,
  tools: [],
  systemPrompt: 'You are the planner.',
  repairTurns: 2,
  condenseAfterChars: 60_000,
  repeatLimit: 3,
};

describe('buildPlanMessages', () => {
  it('sends the vault prompt as system and the FR with the repository map as user', () => {
    const messages = buildPlanMessages(planner, sampleFr(), { ...sampleRepo(), setupCommand: 'npm ci' }, [
      { path: 'src/greet.js', size: 98 },
      { path: 'package.json', size: 230 },
    ]);
    expect(messages).toHaveLength(2);
    expect(messages[0]).toEqual({ role: 'system', content: 'You are the planner.' });
    const user = String(messages[1]!.content);
    expect(messages[1]!.role).toBe('user');
    expect(user).toContain('Feature request FR-1: Add a greeting');
    expect(user).toContain('greet("Ada") returns "Hello, Ada!"');
    expect(user).toContain('# Repository example/greeter at main');
    expect(user).toContain('Tests run with: npm test (after setup: npm ci)');
    expect(user).not.toContain('Lint runs with');
    expect(user).toContain('package.json (230 B)\nsrc/greet.js (98 B)');
    expect(user).toContain('"steps": [{"title"');
  });

  it('names the configured lint next to the tests (pathe trial: only the coder was told)', () => {
    const [, user] = buildPlanMessages(planner, sampleFr(), { ...sampleRepo(), lintCommand: 'npx prettier -c src test' }, []);
    expect(String(user!.content)).toContain(
      'Tests run with: npm test\nLint runs with: npx prettier -c src test (after the tests; the reviewer reads its result)',
    );
  });
});

describe('parsePlan', () => {
  const good = { summary: 'Add farewell', steps: [{ title: 'Add it', files: ['src/farewell.js'], detail: 'Return Goodbye' }], risks: ['none'] };

  it('accepts the documented shape', () => {
    expect(parsePlan(good)).toEqual(good);
  });

  it('reads a missing risks list or step files as empty', () => {
    expect(parsePlan({ summary: 'x', steps: [{ title: 't', detail: 'd' }] })).toEqual({
      summary: 'x',
      steps: [{ title: 't', files: [], detail: 'd' }],
      risks: [],
    });
  });

  it('reads files given as a string as a list of paths, and a risk given as a string as one risk, saying so', () => {
    expect(
      parsePlan({
        summary: 'x',
        steps: [
          { title: 'a', files: 'lib/option.js', detail: '' },
          { title: 'b', files: 'lib/a.js, lib/b.js  tests/c.test.js', detail: '' },
          { title: 'c', files: ' ', detail: '' },
        ],
        risks: 'Breaks callers, maybe',
      }),
    ).toEqual({
      summary: 'x',
      steps: [
        { title: 'a', files: ['lib/option.js'], detail: '' },
        { title: 'b', files: ['lib/a.js', 'lib/b.js', 'tests/c.test.js'], detail: '' },
        { title: 'c', files: [], detail: '' },
      ],
      risks: ['Breaks callers, maybe'],
      readAs: [
        'steps[0].files given as a string "lib/option.js"',
        'steps[1].files given as a string "lib/a.js, lib/b.js  tests/c.test.js"',
        'steps[2].files given as a string " "',
        'risks given as a string "Breaks callers, maybe"',
      ],
    });
    expect(parsePlan({ summary: 'x', steps: [{ title: 't' }], risks: '' })).toEqual({
      summary: 'x',
      steps: [{ title: 't', files: [], detail: '' }],
      risks: [],
      readAs: ['risks given as a string ""'],
    });
  });

  it.each([
    [[], 'the answer must be a JSON object'],
    [{ steps: good.steps }, 'summary must be a string'],
    [{ summary: '  ', steps: good.steps }, 'summary must not be empty'],
    [{ summary: 'x', steps: [] }, 'steps must have at least 1 item'],
    [{ summary: 'x', steps: [{ files: [] }] }, 'steps[0].title must be a string'],
    [{ summary: 'x', steps: [{ title: 't', files: 3 }] }, 'steps[0].files must be an array'],
    [{ summary: 'x', steps: [{ title: 't', files: [3] }] }, 'steps[0].files[0] must be a string'],
    [{ summary: 'x', steps: good.steps, risks: { a: 1 } }, 'risks must be an array'],
  ])('refuses %j: %s', (value, message) => {
    expect(() => parsePlan(value)).toThrow(message);
  });

  it('lists planned files once', () => {
    expect(
      plannedFiles({
        summary: 's',
        risks: [],
        steps: [
          { title: 'a', files: ['x', 'y'], detail: '' },
          { title: 'b', files: ['y', 'z'], detail: '' },
        ],
      }),
    ).toEqual(['x', 'y', 'z']);
  });
});
