import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { declaredSettings } from '../src/child-env.js';
import { startNats, type NatsProcess } from '../src/nats-process.js';
import { STACK_SERVICES } from '../src/services.js';
import { tempDir, type TempDir } from '@agency/testing';

// The real child processes, started while the parent holds canary secrets: what each one's
// environment holds is read back from /proc/<pid>/environ, not from what we meant to pass.

const CANARIES = {
  GITHUB_TOKEN: 'ghp_canary_child_env_1',
  OPENAI_API_KEY: 'sk-canary-child-env-2',
  AWS_SECRET_ACCESS_KEY: 'canary-child-env-3',
  NATS_PASSWORD: 'canary-child-env-4',
};

function environOf(pid: number): Record<string, string> {
  const raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
  return Object.fromEntries(
    raw
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

describe('child processes of the local stack get an allowlisted environment', () => {
  let dir: TempDir;
  let nats: NatsProcess | undefined;
  const saved: Record<string, string | undefined> = {};

  beforeAll(() => {
    dir = tempDir('agency-child-env-');
    for (const [k, v] of Object.entries(CANARIES)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });

  afterAll(async () => {
    await nats?.stop('SIGKILL');
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    dir.remove();
  });

  it('nats-server holds PATH (and TZ) only: none of the canaries its parent holds', async () => {
    nats = await startNats(dir.path);
    const env = environOf(nats.child.pid!);
    expect(Object.keys(env).sort()).toEqual(process.env.TZ ? ['PATH', 'TZ'] : ['PATH']);
    const text = readFileSync(`/proc/${nats.child.pid!}/environ`, 'utf8');
    for (const v of Object.values(CANARIES)) expect(text).not.toContain(v);
  });

  it.each(STACK_SERVICES)('reads what %s declares from its built configuration class: every variable of the source, no other', (service) => {
    const root = resolve(import.meta.dirname, '../../..');
    const declaredIn = (file: string) => [...readFileSync(file, 'utf8').matchAll(/^\s+(?:override\s+)?([A-Z][A-Z0-9_]+)[!?]?\s*[:=]/gm)].map((m) => m[1]!);
    const dir = join(root, 'apps', service, 'src');
    const source = new Set([
      ...declaredIn(join(root, 'libs', 'config', 'src', 'base.config.ts')),
      ...declaredIn(
        join(
          dir,
          readdirSync(dir).find((f) => f.endsWith('.config.ts'))!,
        ),
      ),
    ]);
    expect(declaredSettings(root, service)).toEqual([...source].sort());
  });
});
