import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { tempDir, type TempDir } from '@agency/testing';

// Each built service, started as its own process with a bad configuration, must stop at boot:
// exit code 78 (EX_CONFIG), the variable and the problem on stderr, and no secret in its output.

const ROOT = resolve(import.meta.dirname, '../../..');
const SERVICES = ['orchestrator', 'router', 'registry', 'agent-runner', 'reviewer', 'git-service', 'llm-gateway'] as const;
type Service = (typeof SERVICES)[number];
const entryOf = (service: Service) => join(ROOT, 'dist/apps', service, 'src/main.js');

/**
 * A process that does not exit by itself within this long is killed and the case fails. A boot
 * takes about a second alone; the bound is wide because CI may share the machine (20 s was hit
 * with the machine saturated by other work).
 */
const DEADLINE_MS = 45_000;
/** Processes at once: each boot is about a second of CPU, and the machine may have two cores. */
const PARALLEL = Math.max(2, Math.min(4, availableParallelism()));

/** Recognisable secret values: no part of one (each holds this run's random tag) may appear in any output. */
const run = randomUUID().slice(0, 8);
const CANARIES = {
  LLM_GATEWAY_API_KEY: `sk-canary-llm-${run}-0123456789`,
  GATEWAY_API_KEYS: `agents:sk-canary-gw-${run}-0123456789`,
  GITHUB_TOKEN: `ghp_canary_${run}_0123456789`,
  GITHUB_WEBHOOK_SECRET: `whsec-canary-${run}-0123456789`,
};

/** What each service needs to pass its configuration check (besides the defaults). */
function validEnv(service: Service, dir: string): Record<string, string> {
  const vault = { VAULT_PATH: join(dir, 'vault') };
  const gateway = { LLM_GATEWAY_URL: 'http://127.0.0.1:7106/v1', LLM_GATEWAY_API_KEY: CANARIES.LLM_GATEWAY_API_KEY };
  switch (service) {
    case 'orchestrator':
    case 'registry':
      return vault;
    case 'router':
      return { ...vault, ...gateway };
    case 'agent-runner':
      return { ...vault, ...gateway, WORK_DIR: join(dir, 'runner') };
    case 'reviewer':
      return { ...vault, ...gateway };
    case 'git-service':
      return { ...vault, WORK_DIR: join(dir, 'git'), GITHUB_TOKEN: CANARIES.GITHUB_TOKEN, GITHUB_WEBHOOK_SECRET: CANARIES.GITHUB_WEBHOOK_SECRET };
    case 'llm-gateway':
      return { ...vault, GATEWAY_API_KEYS: CANARIES.GATEWAY_API_KEYS };
  }
}

interface Case {
  service: Service;
  name: string;
  /** Changes to the valid environment: a string sets, undefined removes. */
  change: Record<string, string | undefined>;
  /** Every variable stderr must name, with what it must say about it; no other may be named. */
  expect: Record<string, RegExp>;
}

const NOT_SET = /\(it is not set\)$/;

/** One case per service beyond the two every service gets: its own required or validated variable. */
const OWN: Record<Service, Omit<Case, 'service'>> = {
  orchestrator: {
    name: 'a trace link template without {traceId}',
    change: { TRACE_URL_TEMPLATE: 'http://jaeger:16686/trace/' },
    expect: { TRACE_URL_TEMPLATE: /TRACE_URL_TEMPLATE must contain \{traceId\} \(got "http:\/\/jaeger:16686\/trace\/"\)$/ },
  },
  router: {
    name: 'a gateway URL without its key',
    change: { LLM_GATEWAY_API_KEY: undefined },
    expect: { LLM_GATEWAY_API_KEY: /LLM_GATEWAY_API_KEY must be set when LLM_GATEWAY_URL is/ },
  },
  registry: {
    name: 'a dispatch interval below its minimum',
    change: { DISPATCH_INTERVAL_MS: '5' },
    expect: { DISPATCH_INTERVAL_MS: /DISPATCH_INTERVAL_MS must not be less than 100 \(got "5"\)$/ },
  },
  'agent-runner': {
    name: 'the gateway key missing',
    change: { LLM_GATEWAY_API_KEY: undefined },
    expect: { LLM_GATEWAY_API_KEY: NOT_SET },
  },
  reviewer: {
    name: 'a gateway URL without a scheme',
    change: { LLM_GATEWAY_URL: '127.0.0.1:7106/v1' },
    expect: { LLM_GATEWAY_URL: /LLM_GATEWAY_URL must be an http\(s\) URL .*\(got "127\.0\.0\.1:7106\/v1"\)$/ },
  },
  'git-service': {
    name: 'its work directory missing',
    change: { WORK_DIR: undefined },
    expect: { WORK_DIR: NOT_SET },
  },
  'llm-gateway': {
    // The usual mistake: the bare secret pasted without its `id:`. It must not be echoed.
    name: 'API keys that are a bare secret',
    change: { GATEWAY_API_KEYS: `sk-canary-bare-${run}-0123456789` },
    expect: { GATEWAY_API_KEYS: /GATEWAY_API_KEYS must be comma-separated id:secret pairs .*entry 1 of 1 must look like id:secret \(value hidden\)$/ },
  },
};

const CASES: Case[] = SERVICES.flatMap((service) => [
  { service, name: 'VAULT_PATH missing', change: { VAULT_PATH: undefined }, expect: { VAULT_PATH: NOT_SET } },
  {
    service,
    name: 'a malformed port and NATS URL',
    change: { HTTP_PORT: 'abc', NATS_URL: 'not-a-url' },
    expect: {
      HTTP_PORT: /HTTP_PORT must be an integer.*\(got "abc"\)$/,
      NATS_URL: /NATS_URL must be one or more nats:\/\/host:port URLs separated by commas \(got "not-a-url"\)$/,
    },
  },
  { service, ...OWN[service] },
]);

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  ms: number;
  stdout: string;
  stderr: string;
}

function boot(c: Case, dir: string): Promise<Outcome> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? dir, ...validEnv(c.service, dir) };
  for (const [k, v] of Object.entries(c.change)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  // Not every service declares every secret: an undeclared one must not be printed either.
  for (const [k, v] of Object.entries(CANARIES)) if (!(k in env) && !(k in c.change)) env[k] = v;
  const started = Date.now();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [entryOf(c.service)], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, DEADLINE_MS);
    child.once('error', (e) => (clearTimeout(timer), fail(e)));
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, timedOut, ms: Date.now() - started, stdout, stderr });
    });
  });
}

/** Runs tasks with at most `limit` at once, each result a promise of its own. */
function pooled<T>(tasks: Array<() => Promise<T>>, limit: number): Array<Promise<T>> {
  let next = 0;
  const starts: Array<(v: void) => void> = [];
  const gates = tasks.map(() => new Promise<void>((r) => starts.push(r)));
  const startNext = () => {
    if (next < tasks.length) starts[next++]!();
  };
  const results = tasks.map((task, i) => gates[i]!.then(task));
  results.forEach((r) => void r.then(startNext, startNext));
  for (let i = 0; i < limit; i += 1) startNext();
  return results;
}

describe('a bad configuration stops each built service at boot (exit 78, the variable named, no secret shown)', () => {
  let dir: TempDir;
  const outcomes = new Map<Case, Promise<Outcome>>();

  beforeAll(() => {
    const missing = SERVICES.filter((s) => !existsSync(entryOf(s)));
    if (missing.length > 0) {
      throw new Error(
        `not built: ${missing.map((s) => `dist/apps/${s}/src/main.js`).join(', ')}. Run \`node tools/build.mjs\` first (npm test builds before the medium tests).`,
      );
    }
    dir = tempDir('boot-config-');
    const results = pooled(
      CASES.map((c) => () => boot(c, dir.path)),
      PARALLEL,
    );
    CASES.forEach((c, i) => {
      // Read by the test of its case; a spawn failure is reported there, not as an unhandled rejection.
      results[i]!.catch(() => undefined);
      outcomes.set(c, results[i]!);
    });
  });

  afterAll(async () => {
    await Promise.allSettled(outcomes.values());
    dir?.remove();
  });

  it.each(CASES.map((c) => [`${c.service}: ${c.name}`, c] as const))('%s', { timeout: DEADLINE_MS + 15_000 }, async (_, c) => {
    const o = await outcomes.get(c)!;
    const shown = `exit ${o.code ?? o.signal} after ${o.ms} ms\n--- stderr\n${o.stderr}--- stdout\n${o.stdout}`;
    expect(o.timedOut, `still running after ${DEADLINE_MS} ms\n${shown}`).toBe(false);
    expect(o.code, shown).toBe(78);
    expect(o.stdout, 'nothing is logged before the configuration is checked').toBe('');

    const [header, ...lines] = o.stderr.trimEnd().split('\n');
    expect(header).toBe(`${c.service}: invalid configuration:`);
    const problems = lines.map((l) => {
      const m = /^ {2}- ([A-Z][A-Z0-9_]*): (.*)$/.exec(l);
      expect(m, `a problem line naming its variable: ${JSON.stringify(l)}`).not.toBeNull();
      return { name: m![1]!, text: l.slice(4) };
    });
    expect([...new Set(problems.map((p) => p.name))].sort(), shown).toEqual(Object.keys(c.expect).sort());
    for (const [name, pattern] of Object.entries(c.expect)) {
      expect(
        problems.filter((p) => p.name === name).map((p) => p.text),
        `${name} with what is wrong`,
      ).toContainEqual(expect.stringMatching(pattern));
    }

    expect(o.stderr, 'a secret value on stderr').not.toContain(run);
    expect(o.stdout, 'a secret value on stdout').not.toContain(run);
  });
});
