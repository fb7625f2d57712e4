#!/usr/bin/env node
// Proves the Nx module boundaries bite: writes files that break each rule, lints them, and fails
// unless ESLint reports every violation, starting without Nx's cached project graph. A skipped
// rule (no project graph) fails this check too.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const probes = [
  {
    file: 'libs/contracts/src/zz-probe-runtime.ts',
    code: "import { Injectable } from '@nestjs/common';\nexport const probe = Injectable;\n",
    expect: /imports of external packages are not allowed|is not allowed|@nestjs\/common/i,
    rule: 'contracts imports a runtime package',
  },
  {
    file: 'libs/contracts/src/zz-probe-lib.ts',
    // A lib that does not import contracts: with one that does (messaging), the rule reports the
    // cycle it would close instead of the tag it breaks.
    code: "import { createLogger } from '@agency/telemetry';\nexport const probe = createLogger;\n",
    expect: /can only depend on libs tagged with "type:contracts"/,
    rule: 'contracts imports a runtime lib',
  },
  {
    file: 'apps/router/src/zz-probe-app.ts',
    code: "import { RegistryModule } from '../../registry/src/registry.module.js';\nexport const probe = RegistryModule;\n",
    expect: /Projects cannot be imported by a relative or absolute path|app/i,
    rule: 'an app imports another app',
  },
  {
    file: 'apps/router/src/zz-probe-testing.ts',
    code: "import { tempDir } from '@agency/testing';\nexport const probe = tempDir;\n",
    expect: /can only depend on libs tagged with/,
    rule: 'production code imports the testing lib',
  },
];
let failed = 0;
let workspaceData = '';
try {
  for (const p of probes) {
    mkdirSync(dirname(join(root, p.file)), { recursive: true });
    writeFileSync(join(root, p.file), p.code);
  }
  // As on a fresh clone: no cached project graph. eslint.config.mjs must make one rather than let
  // the rule skip itself (it did, 474 times, with lint passing). An empty workspace-data folder of
  // its own, not a deleted .nx/workspace-data: that one holds the task cache's database of the
  // `nx run` this probe may be running under.
  workspaceData = mkdtempSync(join(tmpdir(), 'agency-boundaries-'));
  let output = '';
  try {
    execFileSync('npx', ['eslint', '--no-warn-ignored', ...probes.map((p) => p.file)], {
      cwd: root,
      encoding: 'utf8',
      stdio: 'pipe',
      env: { ...process.env, NX_WORKSPACE_DATA_DIRECTORY: workspaceData },
    });
  } catch (e) {
    output = `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
  if (/No cached ProjectGraph/.test(output)) {
    console.error('boundaries: the project graph was missing, so @nx/enforce-module-boundaries was skipped');
    failed += 1;
  }
  for (const p of probes) {
    const section = output.split(/\n(?=\/)/).find((s) => s.includes(p.file)) ?? '';
    if (!/enforce-module-boundaries/.test(section) || !p.expect.test(section)) {
      console.error(`boundaries: not caught: ${p.rule} (${p.file})\n${section || output}`);
      failed += 1;
    } else console.log(`boundaries: caught: ${p.rule}`);
  }
} finally {
  for (const p of probes) rmSync(join(root, p.file), { force: true });
  if (workspaceData) rmSync(workspaceData, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
