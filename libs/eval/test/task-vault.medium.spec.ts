import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { tempDir, type TempDir } from '@agency/testing';
import { FR_FOLDERS, loadAgencyConfig, parseFr } from '@agency/vault';
import { ScriptedAnswers } from '../src/scripted-answers.js';
import { loadSuite } from '../src/suite.loader.js';
import { writeTaskVault } from '../src/task-vault.js';

const root = join(import.meta.dirname, '..', '..', '..');
const task = loadSuite(join(root, 'e2e', 'fixtures', 'eval-suite')).tasks.find((t) => t.name === 'slug-dashes')!;

describe('a task vault', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = tempDir('eval-vault-');
  });
  afterEach(() => dir.remove());

  const write = (variant: { model?: string; tier?: string }, answers?: ScriptedAnswers) => {
    const vault = join(dir.path, 'vault');
    writeTaskVault(task, {
      configVault: join(root, 'examples', 'vault'),
      vault,
      forgeRoot: join(dir.path, 'forge'),
      repoName: 'eval/slug-dashes',
      variant,
      answers,
    });
    return vault;
  };

  it('runs every role on the variant model and the FR on the variant tier alone, without human gates', () => {
    const vault = write({ model: 'sonnet', tier: 'large' });
    const config = loadAgencyConfig(vault);
    expect(config.tiers).toHaveLength(1);
    expect(config.tiers[0]).toMatchObject({
      name: 'large',
      max_score: 100,
      plan_approval: false,
      auto_merge: false,
      models: { planner: 'sonnet', coder: 'sonnet', reviewer: 'sonnet' },
    });
    expect(config.repos['eval/slug-dashes']).toMatchObject({ forge: 'local', base: 'main', test: 'npm test' });
    expect(config.defaults.repo).toBe('eval/slug-dashes');
    expect(config.llm).toEqual(loadAgencyConfig(join(root, 'examples', 'vault')).llm);
    const [file] = readdirSync(join(vault, FR_FOLDERS.planned));
    const fr = parseFr(readFileSync(join(vault, FR_FOLDERS.planned, file!), 'utf8'), `${FR_FOLDERS.planned}/${file}`);
    expect(fr).toMatchObject({ id: 'FR-001', title: 'Slugs of titles with punctuation look broken', repo: 'eval/slug-dashes' });
  });

  it('keeps every tier without a variant, and serves scripted answers from a script of its own', () => {
    const vault = write({}, ScriptedAnswers.Oracle);
    expect(loadAgencyConfig(vault).tiers.map((t) => t.name)).toEqual(['small', 'medium', 'large']);
    const llm = loadAgencyConfig(vault).llm as { providers: Record<string, { script: string }> };
    expect(llm.providers.scripted!.script).toBe('eval-script.yaml');
    const script = parse(readFileSync(join(vault, '40_config', 'eval-script.yaml'), 'utf8')) as {
      rules: Array<{ match: { model: string }; replies?: Array<{ tool_calls: Array<{ name: string; arguments: { patch?: string } }> }> }>;
    };
    const coder = script.rules.find((r) => r.match.model === 'coder')!;
    expect(coder.replies![0]!.tool_calls[0]).toEqual({ name: 'apply_patch', arguments: { patch: task.referencePatch } });
  });

  it('refuses a tier the configuration does not have', () => {
    expect(() => write({ tier: 'huge' })).toThrow(/tier "huge" is not in .*agency\.yaml \(it has small, medium, large\)/);
  });
});
