import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, type TempDir } from '@agency/testing';
import { modelsInUse, nonScriptedModels } from './model-use.js';

const exampleVault = join(import.meta.dirname, '..', '..', '..', 'examples', 'vault');

describe('the models the agents use', () => {
  let vault: TempDir;

  beforeEach(() => {
    vault = tempDir('model-use-');
    cpSync(exampleVault, vault.path, { recursive: true });
  });

  afterEach(() => vault.remove());

  const edit = (file: string, change: (text: string) => string) => writeFileSync(join(vault.path, file), change(readFileSync(join(vault.path, file), 'utf8')));

  it('are all scripted in the example vault: agent files and tiers', () => {
    const uses = modelsInUse(vault.path);
    expect(uses.map((u) => u.where)).toEqual(expect.arrayContaining(['20_agents/coder.md', 'tiers.small.models.coder', 'tiers.large.models.reviewer']));
    expect(uses.every((u) => u.types.every((t) => t === 'scripted'))).toBe(true);
    expect(nonScriptedModels(vault.path)).toEqual([]);
  });

  it('names an alias with a live target anywhere in its list, one the vault does not declare, and a tier pointing at either', () => {
    edit('40_config/agency.yaml', (t) =>
      t
        .replace('    scripted:\n      type: scripted\n', '    scripted:\n      type: scripted\n    oa:\n      type: openai\n')
        .replace('coder: [scripted/coder]', 'coder: [scripted/coder, oa/gpt-4.1]')
        .replace('models: { planner: planner, coder: coder, reviewer: reviewer }', 'models: { planner: nowhere, coder: coder, reviewer: reviewer }'),
    );
    // One entry per alias (it was one per use: every tier repeated the alias).
    expect(nonScriptedModels(vault.path)).toEqual(['coder (scripted, openai; 20_agents/coder.md and 4 more)', 'nowhere (unknown; tiers.small.models.planner)']);
  });

  it('follows an agent file changed to another alias', () => {
    edit('20_agents/planner.md', (t) => t.replace(/^model: .*$/m, 'model: gpt'));
    expect(nonScriptedModels(vault.path)).toEqual(['gpt (unknown; 20_agents/planner.md)']);
  });
});
