#!/usr/bin/env node
// Stages the Docker build context of the app images (deploy/images/apps.Dockerfile), offline:
//
//   node scripts/images/stage-context.mjs <out-dir> [app ...]
//
//   <out-dir>/node_modules.tar  the production dependencies only: the packages package-lock.json does
//                               not mark dev/devOptional, hard-linked from node_modules (no network,
//                               no `npm ci`), without type declarations, source maps, TypeScript
//                               sources and markdown (licences are kept)
//   <out-dir>/dist.tar          the compiled apps asked for (default: the seven services and the
//                               dashboard) and the libs they use, with the @agency/* package links
//
// Two tar files rather than trees: the legacy builder checksums every file of a COPY source on
// each build (about 3 s per copy of 10,000 files), while one tar is hashed in milliseconds. They
// are deterministic (sorted, mtime 0, owner root), so an unchanged rebuild hits the layer cache.
//
// It fails, naming the package, when compiled code imports a package that is not a production
// dependency (a devDependency used at run time would only show up as a crash in the container).
import { execFileSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const APPS = ['orchestrator', 'router', 'registry', 'agent-runner', 'reviewer', 'git-service', 'llm-gateway', 'dashboard'];
// Libs only tests or the CLI use stay out of the images.
const LIBS_EXCLUDED = new Set(['testing']);

const [outDir, ...requested] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: stage-context.mjs <out-dir> [app ...]');
  process.exit(2);
}
const apps = requested.length ? requested : APPS;
for (const app of apps) {
  if (!APPS.includes(app)) fail(`unknown app '${app}' (choose from: ${APPS.join(' ')})`);
  if (!existsSync(join(root, 'dist', 'apps', app, 'src', 'main.js'))) fail(`dist/apps/${app}/src/main.js is missing: run 'node tools/build.mjs' first`);
}

function fail(message) {
  console.error(`[stage-context] ERROR: ${message}`);
  process.exit(1);
}

// Files a running service never reads.
const SKIP_FILE =
  /(\.d\.[cm]?ts|\.[cm]?ts|\.map|\.tsbuildinfo)$|^(CHANGELOG|HISTORY|CONTRIBUTING|SECURITY|CODE_OF_CONDUCT)(\..*)?$|^(?!LICEN[CS]E|NOTICE|COPYING).*\.(md|markdown)$/i;
const SKIP_DIR = new Set(['.github', '__tests__', 'node_modules', '.bin']);

let files = 0;
let bytes = 0;
function place(src, dst) {
  try {
    linkSync(src, dst);
  } catch {
    copyFileSync(src, dst);
  }
  files += 1;
  bytes += statSync(src).size;
}

function copyTree(src, dst, { skipFile = SKIP_FILE, skipDir = SKIP_DIR } = {}) {
  mkdirSync(dst, { recursive: true });
  for (const entry of readdirSync(src, { withFileTypes: true })) {
    const s = join(src, entry.name);
    const d = join(dst, entry.name);
    if (entry.isDirectory()) {
      if (!skipDir.has(entry.name)) copyTree(s, d, { skipFile, skipDir });
    } else if (entry.isSymbolicLink()) {
      symlinkSync(readlinkSync(s), d);
    } else if (entry.isFile() && !skipFile.test(entry.name)) {
      place(s, d);
    }
  }
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

// --- production node_modules, from the lockfile
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
const prod = Object.entries(lock.packages ?? {})
  .filter(([path, meta]) => path.startsWith('node_modules/') && !meta.dev && !meta.devOptional && !meta.link)
  .map(([path, meta]) => ({ path, optional: Boolean(meta.optional) }));
const prodNames = new Set();
for (const { path, optional } of prod) {
  const src = join(root, path);
  if (!existsSync(src)) {
    if (optional) continue; // an optional package for another platform
    fail(`${path} is in package-lock.json but not installed: run 'npm ci'`);
  }
  // Each nested node_modules/<pkg> is its own lockfile entry, so copyTree skips node_modules dirs.
  copyTree(src, join(outDir, path));
  const top = path.split('node_modules/').at(-1);
  if (path.lastIndexOf('node_modules/') === 0) prodNames.add(top);
}

// --- compiled apps and libs
const dist = join(root, 'dist');
const keepDist = { skipFile: /\.spec\.js(\.map)?$/, skipDir: new Set() };
for (const app of apps) copyTree(join(dist, 'apps', app), join(outDir, 'dist', 'apps', app), keepDist);
const libs = readdirSync(join(dist, 'libs')).filter((l) => !LIBS_EXCLUDED.has(l));
for (const lib of libs) {
  copyTree(join(dist, 'libs', lib), join(outDir, 'dist', 'libs', lib), keepDist);
  mkdirSync(join(outDir, 'dist', 'node_modules', '@agency'), { recursive: true });
  symlinkSync(join('..', '..', 'libs', lib), join(outDir, 'dist', 'node_modules', '@agency', lib), 'dir');
}
writeFileSync(join(outDir, 'dist', 'package.json'), '{ "type": "module" }\n');

// --- every bare import of the compiled code must be a production dependency or a staged lib
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const missing = new Map();
function* jsFiles(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* jsFiles(p);
    else if (e.name.endsWith('.js')) yield p;
  }
}
// Dynamic imports a compiled file makes only when run from a source tree, never in an image (whose
// dist holds what they would compile): file -> package.
const SOURCE_TREE_ONLY = new Map([['dist/apps/dashboard/src/http/browser-assets.js', '@swc/core']]);
const importRe = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
for (const file of jsFiles(join(outDir, 'dist'))) {
  const code = readFileSync(file, 'utf8');
  for (const m of code.matchAll(importRe)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec || spec.startsWith('.') || spec.startsWith('/') || builtins.has(spec)) continue;
    const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
    if (name.startsWith('@agency/') ? libs.includes(name.slice('@agency/'.length)) : prodNames.has(name)) continue;
    if (m[3] && SOURCE_TREE_ONLY.get(relative(outDir, file)) === name) continue;
    missing.set(name, relative(outDir, file));
  }
}
if (missing.size) {
  fail(
    `compiled code imports packages that are not production dependencies:\n${[...missing].map(([n, f]) => `  ${n} (in ${f})`).join('\n')}\nmove them to "dependencies" in package.json`,
  );
}

for (const tree of ['node_modules', 'dist']) {
  execFileSync('tar', [
    '--sort=name',
    '--mtime=@0',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--mode=go-w',
    '-C',
    outDir,
    '-cf',
    join(outDir, `${tree}.tar`),
    tree,
  ]);
  rmSync(join(outDir, tree), { recursive: true, force: true });
}

const mb = (bytes / 1e6).toFixed(1);
console.error(`[stage-context] ${apps.length} apps, ${libs.length} libs, ${prodNames.size} production packages: ${files} files, ${mb} MB in ${outDir}`);
