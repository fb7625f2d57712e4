import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import js from '@eslint/js';
import { readCachedProjectGraph } from '@nx/devkit';
import nx from '@nx/eslint-plugin';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// The boundary rule reads Nx's cached project graph and, without one (a fresh clone, plain
// `eslint .`), skips itself with a warning and lets lint pass. Make the graph first, and refuse
// to lint at all if it still cannot be read: the rule never skips silently.
function ensureProjectGraph() {
  try {
    return readCachedProjectGraph();
  } catch {
    const nxBin = createRequire(import.meta.url).resolve('nx/bin/nx.js');
    execFileSync(process.execPath, [nxBin, 'show', 'projects'], { cwd: import.meta.dirname, stdio: 'ignore', env: { ...process.env, NX_DAEMON: 'false' } });
    try {
      return readCachedProjectGraph();
    } catch (e) {
      throw new Error(`eslint.config.mjs: Nx's project graph cannot be read, so @nx/enforce-module-boundaries would be skipped: ${e.message}`);
    }
  }
}
ensureProjectGraph();

// Module boundaries that bite: apps never import apps; contracts imports no runtime package;
// the testing lib is for tests only.
const depConstraints = [
  {
    sourceTag: 'type:contracts',
    onlyDependOnLibsWithTags: ['type:contracts'],
    allowedExternalImports: ['class-validator', 'class-transformer', 'reflect-metadata'],
  },
  { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:contracts', 'type:lib'] },
  { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:contracts', 'type:lib'] },
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:contracts', 'type:lib'] },
  { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:contracts', 'type:lib', 'type:testing'] },
];

// Tests may also use the testing lib; production code may not.
const testDepConstraints = depConstraints.map((c) =>
  c.sourceTag === 'type:lib' || c.sourceTag === 'type:app' ? { ...c, onlyDependOnLibsWithTags: [...c.onlyDependOnLibsWithTags, 'type:testing'] } : c,
);

const testFiles = ['**/*.spec.ts', '**/test/**/*.ts'];

export default tseslint.config(
  // e2e/recordings and the eval suites' hidden tests: code for other projects (the recorded and
  // evaluated repositories, in their own module system and test runner), kept as they run there.
  { ignores: ['**/node_modules/**', '**/dist/**', '.nx/**', 'tmp/**', 'examples/**/node_modules/**', 'e2e/recordings/**', 'examples/eval/**/hidden/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': ['error', { enforceBuildableLibDependency: false, allow: [], depConstraints }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'off',
      'no-console': 'error',
    },
  },
  {
    files: testFiles,
    rules: {
      '@nx/enforce-module-boundaries': ['error', { enforceBuildableLibDependency: false, allow: [], depConstraints: testDepConstraints }],
      'no-console': 'off',
    },
  },
  {
    // Build and CI scripts are plain Node modules.
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }] },
  },
  {
    // Command-line entry points and scripts talk to a terminal on purpose.
    files: ['apps/cli/**/*.ts', 'tools/**/*', 'bench/**/*', 'e2e/**/*.ts', 'scripts/**/*'],
    rules: { 'no-console': 'off' },
  },
);
