#!/usr/bin/env node
// Compiles apps and libs with SWC into dist/, keeping the source tree, and links each lib as
// dist/node_modules/@agency/<lib> so compiled code resolves `@agency/*` like any package.
// Usage: node tools/build.mjs [projectRoot ...] [--quiet]
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformFile } from '@swc/core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const quiet = args.includes('--quiet');
const requested = args.filter((a) => !a.startsWith('--'));

const projects = requested.length
  ? requested
  : ['libs', 'apps'].flatMap((g) => (existsSync(join(root, g)) ? readdirSync(join(root, g)).map((p) => `${g}/${p}`) : []));

const swcOptions = {
  jsc: {
    target: 'es2023',
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: true },
    keepClassNames: true,
  },
  module: { type: 'es6' },
  sourceMaps: true,
};

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(p);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts')) yield p;
  }
}

let compiled = 0;
let skipped = 0;
for (const project of projects) {
  const src = join(root, project, 'src');
  if (!existsSync(src) || sources(src).next().done) continue;
  const jobs = [];
  for (const file of sources(src)) {
    const out = join(root, 'dist', relative(root, file)).replace(/\.ts$/, '.js');
    if (existsSync(out) && statSync(out).mtimeMs >= statSync(file).mtimeMs) {
      skipped += 1;
      continue;
    }
    jobs.push(
      transformFile(file, { ...swcOptions, filename: file, sourceFileName: relative(dirname(out), file) }).then(({ code, map }) => {
        mkdirSync(dirname(out), { recursive: true });
        writeFileSync(out, `${code}\n//# sourceMappingURL=${out.split('/').pop()}.map\n`);
        if (map) writeFileSync(`${out}.map`, map);
        compiled += 1;
      }),
    );
  }
  await Promise.all(jobs);
  if (project.startsWith('libs/')) {
    const name = project.slice('libs/'.length);
    const distLib = join(root, 'dist', project);
    const exports = { '.': './src/index.js' };
    if (existsSync(join(src, 'testing.ts'))) exports['./testing'] = './src/testing.js';
    writeFileSync(join(distLib, 'package.json'), `${JSON.stringify({ name: `@agency/${name}`, type: 'module', exports }, null, 2)}\n`);
    const link = join(root, 'dist', 'node_modules', '@agency', name);
    mkdirSync(dirname(link), { recursive: true });
    if (existsSync(link) || isLink(link)) rmSync(link, { recursive: true, force: true });
    symlinkSync(relative(dirname(link), distLib), link, 'dir');
  }
}
writeFileSync(join(root, 'dist', 'package.json'), '{ "type": "module" }\n');
if (!quiet) console.log(`build: ${compiled} compiled, ${skipped} up to date (${projects.length} projects)`);

function isLink(p) {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
