import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { initTelemetry, type Telemetry } from '@agency/telemetry';
import { didYouMean, editDistance, inToolSpan } from './tool-text.js';

describe('editDistance', () => {
  it('counts insertions, deletions, changes and swapped neighbours, giving up past the limit', () => {
    expect(editDistance('utils.ts', 'utils.ts', 2)).toBe(0);
    expect(editDistance('util.ts', 'utils.ts', 2)).toBe(1);
    expect(editDistance('utlis.ts', 'utils.ts', 2)).toBe(1);
    expect(editDistance('usage.ts', 'usages.js', 2)).toBe(2);
    expect(editDistance('command.ts', 'index.ts', 2)).toBe(3);
    expect(editDistance('a', 'abcdef', 2)).toBe(3);
  });
});

describe('didYouMean', () => {
  const citty = ['src/_utils.ts', 'src/command.ts', 'src/index.ts', 'src/types.ts', 'src/usage.ts', 'test/main.test.ts', 'AGENTS.md', '.github/ci.yml'];

  it('suggests only the same path in another case when there is one', () => {
    expect(didYouMean('agents.md', citty)).toBe('; did you mean AGENTS.md?');
  });

  it('suggests the same name but for a leading "_" or "." (relay trial citty: src/utils.ts for src/_utils.ts)', () => {
    expect(didYouMean('src/utils.ts', citty)).toBe('; did you mean src/_utils.ts?');
    expect(didYouMean('src/_types.ts', citty)).toBe('; did you mean src/types.ts?');
    expect(didYouMean('eslintrc.json', ['.eslintrc.json', 'src/a.ts'])).toBe('; did you mean .eslintrc.json?');
  });

  it('suggests a name a letter or two off in the same directory, its parent or a subdirectory', () => {
    expect(didYouMean('src/comand.ts', citty)).toBe('; did you mean src/command.ts?');
    expect(didYouMean('src/type.ts', citty)).toBe('; did you mean src/types.ts?');
    expect(didYouMean('src/test/mian.test.ts', citty)).toBe('');
    expect(didYouMean('test/unit/mian.test.ts', citty)).toBe('; did you mean test/main.test.ts?');
    expect(didYouMean('usage.ts', citty)).toBe('; did you mean src/usage.ts?');
    expect(didYouMean('usages.ts', citty)).toBe('; did you mean src/usage.ts?');
    // Further away, a misspelt name is more likely another file altogether.
    expect(didYouMean('lib/deep/comand.ts', citty)).toBe('');
  });

  it('keeps to three suggestions, the closest first', () => {
    const paths = ['packages/a/src/index.ts', 'src/index.js', 'src/_index.ts', 'src/indexes.ts', 'lib/index.ts', 'src/inde.ts'];
    // How alike the names are and how many directories lie between both count.
    expect(didYouMean('src/index.ts', paths)).toBe('; did you mean src/_index.ts or lib/index.ts or src/index.js?');
    expect(didYouMean('src/utils.ts', ['test/fixtures/utils.ts', 'src/_utils.ts'])).toBe('; did you mean src/_utils.ts or test/fixtures/utils.ts?');
    expect(didYouMean('src/indx.ts', ['src/indexes.ts', 'src/inde.ts', 'src/index.ts'])).toBe('; did you mean src/inde.ts or src/index.ts?');
  });

  it('suggests nothing for an unrelated name', () => {
    expect(didYouMean('src/parser.ts', citty)).toBe('');
    expect(didYouMean('docs/guide.md', citty)).toBe('');
    expect(didYouMean('x.ts', ['y.js', 'src/x/y.ts'])).toBe('');
    // A letter off in a short name is another name.
    expect(didYouMean('src/b.js', ['src/a.js', 'src/ab.js'])).toBe('');
  });
});

describe('inToolSpan', () => {
  let telemetry: Telemetry;
  const spans = new InMemorySpanExporter();
  beforeAll(() => {
    telemetry = initTelemetry({ serviceName: 'agent-runner', env: {}, exporters: [spans] });
  });
  afterAll(() => telemetry.shutdown());
  beforeEach(async () => {
    await telemetry.flush();
    spans.reset();
  });

  const recorded = async () => (await telemetry.flush(), spans.getFinishedSpans().map((s) => ({ name: s.name, attributes: s.attributes })));

  it('names the span after the tool that ran, and keeps the name the model asked for when it differs', async () => {
    await inToolSpan({ asked: 'read_file', ran: 'read_file' }, async () => ({ ok: true, content: 'x' }));
    await inToolSpan({ asked: 'bash', ran: 'run_command' }, async () => ({ ok: true, content: 'x' }));
    await inToolSpan({ asked: 'delete_everything' }, async () => ({ ok: false, content: 'error' }));
    await inToolSpan({ asked: 'not a name!' }, async () => ({ ok: false, content: 'error' }));
    expect(await recorded()).toEqual([
      { name: 'execute_tool read_file', attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'read_file', 'agency.tool.ok': true } },
      {
        name: 'execute_tool run_command',
        attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'run_command', 'agency.tool.asked_name': 'bash', 'agency.tool.ok': true },
      },
      {
        name: 'execute_tool delete_everything',
        attributes: {
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': 'delete_everything',
          'agency.tool.asked_name': 'delete_everything',
          'agency.tool.ok': false,
        },
      },
      // Not a tool's name at all: kept out of the span name, still on the span.
      { name: 'execute_tool', attributes: { 'gen_ai.operation.name': 'execute_tool', 'agency.tool.asked_name': 'not a name!', 'agency.tool.ok': false } },
    ]);
  });
});
