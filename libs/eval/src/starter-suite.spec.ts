import { join } from 'node:path';
import { patchFiles } from './scripted-answers.js';
import { loadSuite } from './suite.loader.js';

// The starter suite's shape, checked offline (its tasks' behaviour needs the registry:
// `agency eval check examples/eval/starter` proves each fails at its base and passes with its reference).
describe('the starter suite', () => {
  const suite = loadSuite(join(import.meta.dirname, '..', '..', '..', 'examples', 'eval', 'starter'));

  it('has at least 12 valid tasks on npm packages at exact versions', () => {
    expect(suite.manifest.name).toBe('starter');
    expect(suite.tasks.length).toBeGreaterThanOrEqual(12);
    for (const t of suite.tasks) expect(t.source.kind).toBe('npm');
  });

  it('has tasks whose tests need dev dependencies, tasks over several files and a bug told by its symptom', () => {
    const devDeps = suite.tasks.filter((t) => t.spec.setup && !t.spec.setup.includes('--omit=dev'));
    expect(devDeps.length).toBeGreaterThanOrEqual(3);
    const multiFile = suite.tasks.filter((t) => patchFiles(t.referencePatch).filter((f) => !f.endsWith('.d.ts')).length >= 2);
    expect(multiFile.length).toBeGreaterThanOrEqual(2);
    expect(suite.tasks.filter((t) => t.spec.kind === 'fix').length).toBeGreaterThanOrEqual(1);
  });

  it('has JavaScript and TypeScript packages: a task whose reference changes TypeScript source, tested with dev dependencies', () => {
    const ts = suite.tasks.filter((t) => patchFiles(t.referencePatch).some((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts')));
    expect(ts.map((t) => t.name)).toContain('ts-dedent-tab-values');
    for (const t of ts) expect(t.spec.setup).not.toContain('--omit=dev');
    expect(suite.tasks.some((t) => patchFiles(t.referencePatch).some((f) => f.endsWith('.js')))).toBe(true);
  });
});
