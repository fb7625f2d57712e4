#!/usr/bin/env node
// Renders the nats-server authorization block (a user per service, the CLI, the dashboard and the
// admin, with the permissions of libs/messaging/src/bus-permissions.ts) into
// deploy/k8s/base/nats/auth.conf. Run it after changing the message catalogue's services, a
// role's buckets or the permission rules; the k8s manifests test fails while the file is stale.
//   node tools/nats-auth-config.mjs            write deploy/k8s/base/nats/auth.conf
//   node tools/nats-auth-config.mjs --check    exit 1 if it differs from what the code renders
//   node tools/nats-auth-config.mjs --stdout   print it (e.g. for a NATS server of your own)
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'deploy', 'k8s', 'base', 'nats', 'auth.conf');
execFileSync(process.execPath, [join(root, 'tools', 'build.mjs'), '--quiet', 'libs/contracts', 'libs/messaging', 'libs/stack'], { stdio: 'inherit' });
const { renderNatsAuthorization } = await import(pathToFileURL(join(root, 'dist', 'libs', 'stack', 'src', 'nats-auth.js')).href);
const text = renderNatsAuthorization();

if (process.argv.includes('--stdout')) process.stdout.write(text);
else if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing: stale
  }
  if (current !== text) {
    console.error(`${target} is stale: run node tools/nats-auth-config.mjs`);
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
