import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { dockerCliParentEnv, LocalStack, seedBareRepo, seedVault, stackPorts, type StackProgress } from '@agency/stack';
import { isStopped, sagaStage, type SagaState } from '@agency/contracts';
import { FR_FOLDERS, loadAgencyConfig, localForgeRoot, nonScriptedModels } from '@agency/vault';
import { AgencyApi, type SagaSummary } from '../api.client.js';
import { defaultEvalDir, defaultRunDir, repoRoot } from '../paths.js';
import { reportLines } from './fr-report.js';
import { GatewayWatch } from './gateway-watch.js';
import { modelNotice, sandboxNotice, type SandboxChoice } from './sandbox-notice.js';

/** Where `up` stops waiting for a run: at a gate, done or stopped. */
const settled = (state: SagaState): boolean => sagaStage(state) !== 'running';

export interface UpOptions {
  once?: boolean;
  runDir?: string;
  vault?: string;
  fresh?: boolean;
  /** Give up waiting in --once mode after this many seconds. */
  timeout?: string;
  /** The first of the stack's eight ports (AGENCY_PORT_BASE; default 7100). */
  portBase?: string;
}

/** The agent-runner's default sandbox image (its SANDBOX_IMAGE). */
const SANDBOX_IMAGE = 'localhost/agency/sandbox:latest';

/**
 * The quick start: one command brings up NATS (unless NATS_URL is set), the seven services and
 * the example vault and repository, then follows FRs until they wait for a human.
 */
export async function up(options: UpOptions): Promise<number> {
  const root = repoRoot();
  // Bad ports stop it before anything is copied or started.
  const ports = stackPorts(options.portBase, process.env);
  const runDir = resolve(options.runDir ?? defaultRunDir());
  if (options.fresh) rmSync(runDir, { recursive: true, force: true });
  const vaultPath = resolve(options.vault ?? process.env.AGENCY_VAULT ?? join(runDir, 'vault'));
  if (!options.vault && !process.env.AGENCY_VAULT && seedVault(join(root, 'examples', 'vault'), vaultPath)) {
    console.log(`vault      ${vaultPath} (a copy of the bundled example vault)`);
  } else {
    console.log(`vault      ${vaultPath}`);
  }
  // --once with no FR to take and none under way would start the whole stack (~25 s) to stop it again
  // (pathe trial); unless an earlier stack of this run directory may have left processes to reap.
  if (options.once && frFiles(vaultPath, 'planned') + frFiles(vaultPath, 'inProgress') === 0 && !existsSync(join(runDir, 'stack.json'))) {
    console.log(`nothing to do: no FR in ${join(vaultPath, FR_FOLDERS.planned)} and none in progress; drop FR files there and run again`);
    return 0;
  }
  seedLocalForge(root, vaultPath);
  if (!existsSync(join(root, 'dist', 'apps', 'orchestrator', 'src', 'main.js'))) throw new Error('the services are not built: run `npm run build` first');

  const choice = chooseSandbox();
  const sandbox = choice.sandbox;
  const live = nonScriptedModels(vaultPath);
  for (const line of sandboxNotice(choice, sandbox === 'process' ? live : [], process.env.SANDBOX_PROCESS_UNSAFE === 'allow')) console.log(line);
  for (const line of modelNotice(live)) console.log(line);
  const stack = new LocalStack({
    runDir,
    vaultPath,
    rootDir: root,
    natsUrl: process.env.NATS_URL,
    ports,
    env: process.env.LOG_LEVEL ? { LOG_LEVEL: process.env.LOG_LEVEL } : {},
    // The dashboard's Eval runs page lists the suite runs of `agency eval run`.
    serviceEnv: { 'agent-runner': { SANDBOX: sandbox }, dashboard: { EVAL_DIR: defaultEvalDir() } },
    dashboard: true,
    // A person's own gateway keys: the gateway takes them beside the stack's key (shared with other tools).
    ...(process.env.GATEWAY_API_KEYS ? { gatewayApiKeys: process.env.GATEWAY_API_KEYS } : {}),
    onProgress: (event) => {
      const line = progressLine(event, stack);
      if (line !== undefined) console.log(line);
    },
  });
  // Ctrl-C (or SIGTERM) stops the stack; what was running (the start, the follow loop) ends
  // quietly instead of reporting the services it can no longer reach.
  const stopping = new AbortController();
  let stopped: Promise<void> | undefined;
  const stop = () => {
    if (!stopped) {
      stopping.abort();
      console.log('stopping the agency...');
      stopped = stack.stop().then(() => console.log('stopped: the services and nats-server are down'));
    }
    return stopped;
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  process.once('SIGTERM', () => void stop().then(() => process.exit(143)));

  console.log(
    `starting   NATS ${process.env.NATS_URL ? process.env.NATS_URL : '(a local nats-server, store in ' + join(runDir, 'nats') + ')'}, then the seven services and the dashboard one by one (20-30 s)`,
  );
  try {
    await stack.start();
  } catch (e) {
    if (stopping.signal.aborted) return stop().then(() => 130);
    await stop();
    throw e;
  }
  console.log(gatewayLine(stack, process.env.GATEWAY_API_KEYS, runDir === defaultRunDir() ? '' : `AGENCY_RUN_DIR=${runDir} `));
  console.log(`dashboard  ${stack.url('dashboard')}  (open it in a browser: the FRs live, each one's timeline, plan, PR and buttons)`);
  console.log(`traces     ${process.env.OTEL_EXPORTER_OTLP_ENDPOINT ? `OTLP to ${process.env.OTEL_EXPORTER_OTLP_ENDPOINT}` : stack.traceFile}`);
  console.log(`\nwatching   ${join(vaultPath, FR_FOLDERS.planned)}  (drop FR files there; Ctrl-C stops)\n`);

  try {
    const code = await follow(stack, vaultPath, runDir, options, stopping.signal);
    if (options.once || stopping.signal.aborted) await stop();
    return stopping.signal.aborted && !options.once ? 130 : code;
  } catch (e) {
    if (stopping.signal.aborted) return stop().then(() => 130);
    await stop();
    throw e;
  }
}

/** One line of the start-up as it happens: the services come up one after the other (20-30 s on a busy machine). */
export function progressLine(event: StackProgress, stack: Pick<LocalStack, 'url' | 'logFile' | 'natsUrl'>): string | undefined {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  switch (event.kind) {
    case 'reaped':
      return `reaped     ${event.what.join(', ')} (${event.why})`;
    case 'starting':
      return undefined;
    case 'ready':
      return event.process === 'nats-server'
        ? `NATS       ${stack.natsUrl}  ready in ${seconds(event.ms)}`
        : `${event.process.padEnd(13)}${stack.url(event.process)}  ready in ${seconds(event.ms)}  (log ${stack.logFile(event.process)})`;
  }
}

/** Where other tools reach the gateway, and with which keys (the stack's own is in a 0600 file `agency gateway` prints). */
export function gatewayLine(stack: Pick<LocalStack, 'url'>, personKeys: string | undefined, prefix: string): string {
  const ids = (personKeys ?? '')
    .split(',')
    .map((e) => e.trim().split(':')[0])
    .filter((id) => id);
  const yours = ids.length > 0 ? `; your GATEWAY_API_KEYS work too: ${ids.join(', ')}` : '';
  return `gateway    ${stack.url('llm-gateway')}/v1  (OpenAI-compatible; its key: ${prefix}npm run agency -- gateway${yours})`;
}

/** SANDBOX when set; containers when an engine answers and the sandbox image is built; host processes otherwise, saying why. */
function chooseSandbox(): SandboxChoice {
  const image = process.env.SANDBOX_IMAGE ?? SANDBOX_IMAGE;
  if (process.env.SANDBOX === 'docker' || process.env.SANDBOX === 'process')
    return { sandbox: process.env.SANDBOX, why: `SANDBOX=${process.env.SANDBOX} is set` };
  try {
    execFileSync('docker', ['image', 'inspect', image], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000, env: dockerCliParentEnv(process.env) });
    return { sandbox: 'docker', why: `${image} is built` };
  } catch (e) {
    const detail = (e as { stderr?: Buffer }).stderr?.toString('utf8').trim().split('\n')[0] || (e as Error).message;
    return { sandbox: 'process', why: `no Docker sandbox: docker image inspect ${image} failed: ${detail}` };
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

/** Prints each FR's moves, and a report when one waits for a person; with --once, returns when the planned folder is drained. */
async function follow(stack: LocalStack, vaultPath: string, runDir: string, options: UpOptions, stopping: AbortSignal): Promise<number> {
  const api = new AgencyApi(stack.url('orchestrator'), stack.url('registry'), stack.url('git-service'));
  const seen = new Map<string, string>();
  const reported = new Set<string>();
  const deadline = Date.now() + Number(options.timeout ?? 600) * 1000;
  let quietSince = Date.now();
  const gateway = new GatewayWatch(async () => (await fetch(`${stack.url('llm-gateway')}/metrics`, { signal: AbortSignal.timeout(2_000) })).text());
  for (let tick = 0; !stopping.aborted; tick += 1) {
    // Every 5 s: failing model calls, which otherwise show nowhere while an FR waits.
    if (tick % 10 === 0) {
      const failing = await gateway.check();
      if (failing) console.log(`${new Date().toISOString().slice(11, 19)}  ${failing}`);
    }
    // Marked as a poll: twice a second, each read was a trace and a log line of the orchestrator's.
    const { sagas } = await api.get<{ sagas: SagaSummary[] }>(api.orchestratorUrl, '/sagas', { poll: true });
    for (const s of sagas) {
      const key = `${s.state}/${s.step}/${s.attempt}`;
      if (seen.get(s.sagaId) !== key) {
        seen.set(s.sagaId, key);
        quietSince = Date.now();
        console.log(
          `${new Date().toISOString().slice(11, 19)}  ${s.frId.padEnd(8)} ${s.state.padEnd(22)} ${s.step}${s.attempt > 1 ? ` (attempt ${s.attempt})` : ''}${s.failure ? `  ${s.failure}` : ''}`,
        );
      }
      if (settled(s.state) && !reported.has(`${s.sagaId}:${s.state}`)) {
        reported.add(`${s.sagaId}:${s.state}`);
        await report(api, s, stack, vaultPath, runDir);
      }
    }
    if (options.once) {
      const planned = frFiles(vaultPath, 'planned');
      const busy = sagas.filter((s) => !settled(s.state));
      if (planned === 0 && busy.length === 0 && Date.now() - quietSince > 1500) {
        const failed = sagas.filter((s) => isStopped(s.state));
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
  return 130;
}

function frFiles(vaultPath: string, folder: keyof typeof FR_FOLDERS): number {
  const dir = join(vaultPath, FR_FOLDERS[folder]);
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

async function report(api: AgencyApi, s: SagaSummary, stack: LocalStack, vaultPath: string, runDir: string): Promise<void> {
  // The whole run names the branch, the base and the plan; the summary alone does not.
  const run = await api
    .get<{ workspace?: { branch: string }; repo?: { base: string }; planSummary?: string }>(api.orchestratorUrl, `/sagas/${encodeURIComponent(s.frId)}`)
    .catch(() => undefined);
  const lines = reportLines(s, {
    forgeRoot: localForgeRoot(loadAgencyConfig(vaultPath), vaultPath),
    branch: run?.workspace?.branch,
    base: run?.repo?.base,
    planSummary: run?.planSummary,
    traceHint: `${runDir === defaultRunDir() ? '' : `AGENCY_RUN_DIR=${runDir} `}npm run agency -- trace ${s.frId}${process.env.OTEL_EXPORTER_OTLP_ENDPOINT ? '; or open it in Jaeger/Grafana' : `; spans in ${stack.traceFile}`}`,
    frFile: findFrFile(vaultPath, s.frId),
    logsDir: join(runDir, 'logs'),
    dashboardUrl: `${stack.url('dashboard')}/#/fr/${s.frId}`,
    ...(runDir === defaultRunDir() ? {} : { runDir }),
  });
  console.log(`\n${lines.join('\n')}`);
}
