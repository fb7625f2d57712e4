import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { LocalStack, seedBareRepo, seedVault, STACK_SERVICES } from '@agency/stack';
import { FR_FOLDERS, loadAgencyConfig, localForgeRoot } from '@agency/vault';
import { AgencyApi, type SagaSummary } from '../api.client.js';
import { defaultRunDir, repoRoot } from '../paths.js';

export interface UpOptions {
  once?: boolean;
  runDir?: string;
  vault?: string;
  fresh?: boolean;
  /** Give up waiting in --once mode after this many seconds. */
  timeout?: string;
}

const WAITING = new Set(['awaiting-merge', 'awaiting-plan-approval', 'done', 'failed', 'blocked', 'cancelled']);

/**
 * The quick start: one command brings up NATS (unless NATS_URL is set), the seven services and
 * the example vault and repository, then follows FRs until they wait for a human.
 */
export async function up(options: UpOptions): Promise<number> {
  const root = repoRoot();
  const runDir = resolve(options.runDir ?? defaultRunDir());
  if (options.fresh) rmSync(runDir, { recursive: true, force: true });
  const vaultPath = resolve(options.vault ?? process.env.AGENCY_VAULT ?? join(runDir, 'vault'));
  if (!options.vault && !process.env.AGENCY_VAULT && seedVault(join(root, 'examples', 'vault'), vaultPath)) {
    console.log(`vault      ${vaultPath} (a copy of the bundled example vault)`);
  } else {
    console.log(`vault      ${vaultPath}`);
  }
  seedLocalForge(root, vaultPath);
  if (!existsSync(join(root, 'dist', 'apps', 'orchestrator', 'src', 'main.js'))) throw new Error('the services are not built: run `npm run build` first');

  const sandbox = process.env.SANDBOX ?? chooseSandbox();
  console.log(`sandbox    ${sandbox === 'docker' ? 'Docker containers (agency/sandbox:latest)' : 'host processes (no isolation: build the sandbox image with scripts/docker/build-images.sh for containers)'}`);
  const stack = new LocalStack({
    runDir,
    vaultPath,
    rootDir: root,
    natsUrl: process.env.NATS_URL,
    env: process.env.LOG_LEVEL ? { LOG_LEVEL: process.env.LOG_LEVEL } : {},
    serviceEnv: { 'agent-runner': { SANDBOX: sandbox } },
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping the agency...');
    await stack.stop();
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  process.once('SIGTERM', () => void stop().then(() => process.exit(143)));

  console.log(`starting   NATS ${process.env.NATS_URL ? process.env.NATS_URL : '(a local nats-server, store in ' + join(runDir, 'nats') + ')'}`);
  try {
    await stack.start();
  } catch (e) {
    await stack.stop();
    throw e;
  }
  console.log(`NATS       ${stack.natsUrl}`);
  for (const s of STACK_SERVICES) console.log(`${s.padEnd(13)}${stack.url(s)}  (log ${stack.logFile(s)})`);
  console.log(`traces     ${process.env.OTEL_EXPORTER_OTLP_ENDPOINT ? `OTLP to ${process.env.OTEL_EXPORTER_OTLP_ENDPOINT}` : stack.traceFile}`);
  console.log(`\nwatching   ${join(vaultPath, FR_FOLDERS.planned)}  (drop FR files there; Ctrl-C stops)\n`);

  const code = await follow(stack, vaultPath, runDir, options);
  if (options.once) await stop();
  return code;
}

/** Containers when an engine answers and the sandbox image is built; host processes otherwise. */
function chooseSandbox(): 'docker' | 'process' {
  try {
    execFileSync('docker', ['image', 'inspect', process.env.SANDBOX_IMAGE ?? 'agency/sandbox:latest'], { stdio: 'ignore', timeout: 10_000 });
    return 'docker';
  } catch {
    return 'process';
  }
}

/** Creates the local forge's bare repositories from examples/repos/<name> when they are missing. */
function seedLocalForge(root: string, vaultPath: string): void {
  const config = loadAgencyConfig(vaultPath);
  const forgeRoot = localForgeRoot(config, vaultPath);
  if (!forgeRoot) return;
  for (const [name, repo] of Object.entries(config.repos)) {
    if (repo.forge !== 'local' || repo.url) continue;
    const source = join(root, 'examples', 'repos', basename(name));
    if (existsSync(join(forgeRoot, `${name}.git`))) continue;
    if (!existsSync(source)) {
      console.log(`warning    ${name}: no bare repository at ${join(forgeRoot, `${name}.git`)} and no example to create it from`);
      continue;
    }
    seedBareRepo(forgeRoot, name, source, repo.base);
    console.log(`forge      ${join(forgeRoot, `${name}.git`)} (created from examples/repos/${basename(name)})`);
  }
}

async function follow(stack: LocalStack, vaultPath: string, runDir: string, options: UpOptions): Promise<number> {
  const api = new AgencyApi(stack.url('orchestrator'), stack.url('registry'), stack.url('git-service'));
  const seen = new Map<string, string>();
  const reported = new Set<string>();
  const deadline = Date.now() + Number(options.timeout ?? 600) * 1000;
  let quietSince = Date.now();
  for (;;) {
    const { sagas } = await api.get<{ sagas: SagaSummary[] }>(api.orchestratorUrl, '/sagas');
    for (const s of sagas) {
      const key = `${s.state}/${s.step}/${s.attempt}`;
      if (seen.get(s.sagaId) !== key) {
        seen.set(s.sagaId, key);
        quietSince = Date.now();
        console.log(`${new Date().toISOString().slice(11, 19)}  ${s.frId.padEnd(8)} ${s.state.padEnd(22)} ${s.step}${s.attempt > 1 ? ` (attempt ${s.attempt})` : ''}${s.failure ? `  ${s.failure}` : ''}`);
      }
      if (WAITING.has(s.state) && !reported.has(`${s.sagaId}:${s.state}`)) {
        reported.add(`${s.sagaId}:${s.state}`);
        report(s, stack, vaultPath, runDir);
      }
    }
    if (options.once) {
      const planned = pendingPlanned(vaultPath);
      const busy = sagas.filter((s) => !WAITING.has(s.state));
      if (planned === 0 && busy.length === 0 && Date.now() - quietSince > 1500) {
        const failed = sagas.filter((s) => ['failed', 'blocked', 'cancelled'].includes(s.state));
        console.log(`\nthe planned folder is drained: ${sagas.length} FR(s), ${failed.length} failed or blocked.`);
        return failed.length > 0 ? 1 : 0;
      }
      if (Date.now() > deadline) {
        console.log(`\ngave up after ${options.timeout ?? 600} s with ${busy.length} FR(s) still running`);
        return 2;
      }
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function pendingPlanned(vaultPath: string): number {
  const dir = join(vaultPath, FR_FOLDERS.planned);
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.md')).length : 0;
}

/** The FR's file wherever the saga has moved it. */
export function findFrFile(vaultPath: string, frId: string): string | undefined {
  for (const folder of Object.values(FR_FOLDERS)) {
    const dir = join(vaultPath, folder);
    if (!existsSync(dir)) continue;
    const hit = readdirSync(dir).find((f) => f === `${frId}.md` || f.startsWith(`${frId}-`));
    if (hit) return join(dir, hit);
  }
  return undefined;
}

function report(s: SagaSummary, stack: LocalStack, vaultPath: string, runDir: string): void {
  const lines = [`\n== ${s.frId} "${s.title}": ${s.state}`];
  if (s.prUrl) {
    const m = s.prUrl.match(/^local:\/\/(.+)\/pulls\/(\d+)$/);
    lines.push(`   pull request   ${s.prUrl}`);
    if (m) {
      const forgeRoot = localForgeRoot(loadAgencyConfig(vaultPath), vaultPath);
      if (forgeRoot) lines.push(`   PR record      ${join(forgeRoot, `${m[1]}.prs`, `${m[2]}.json`)}`);
      lines.push(`   branch         git -C ${forgeRoot ? join(forgeRoot, `${m[1]}.git`) : '<forge>'} log --stat main..agency/${s.frId}-…`);
      lines.push(`   merge it       npm run agency -- merge ${s.frId}   (while the agency runs: npm start)`);
    }
  }
  lines.push(`   trace          ${s.traceId}  (npm run agency -- trace ${s.frId}${process.env.OTEL_EXPORTER_OTLP_ENDPOINT ? '; or open it in Jaeger/Grafana' : `; spans in ${stack.traceFile}`})`);
  lines.push(`   FR file        ${findFrFile(vaultPath, s.frId) ?? '(not found in the vault)'}`);
  if (s.failure) lines.push(`   reason         ${s.failure}`);
  lines.push(`   cost           $${s.costUsd.toFixed(4)}   logs in ${join(runDir, 'logs')}`);
  console.log(lines.join('\n'));
}
