#!/usr/bin/env node
// The one test command (npm test): build, lint, module boundaries, typecheck, unit, medium and
// end-to-end tests, in that order, stopping at the first failure.
// `npm test -- unit medium` runs only the named phases.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const phases = [
  ['build', 'node', ['tools/build.mjs']],
  ['graph', 'nx', ['show', 'projects']],
  ['lint', 'eslint', ['--max-warnings=0', '.']],
  ['boundaries', 'node', ['tools/check-boundaries.mjs']],
  ['typecheck', 'tsc', ['-p', 'tsconfig.json']],
  ['docker', 'bash', ['scripts/docker/prepare-for-tests.sh']],
  ['unit', 'vitest', ['run', '--config', 'vitest.config.mts']],
  ['medium', 'vitest', ['run', '--config', 'vitest.medium.config.mts']],
  ['e2e', 'vitest', ['run', '--config', 'vitest.e2e.config.mts']],
];

const wanted = process.argv.slice(2);
const results = [];
for (const [name, cmd, args] of phases) {
  if (wanted.length && !wanted.includes(name)) continue;
  const started = Date.now();
  console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? '0' } });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  results.push(`${name} ${r.status === 0 ? 'ok' : 'FAILED'} (${seconds} s)`);
  if (r.status !== 0) {
    console.error(`\n=== ${name} failed (exit ${r.status ?? r.signal}).\n${results.join('\n')}`);
    process.exit(1);
  }
}
console.log(`\n=== all green\n${results.join('\n')}`);
