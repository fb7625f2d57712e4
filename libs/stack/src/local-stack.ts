import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNats, type NatsProcess } from './nats-process.js';

/** The seven services, in start order (the gateway first: agents call it). */
export const STACK_SERVICES = ['llm-gateway', 'git-service', 'router', 'registry', 'agent-runner', 'reviewer', 'orchestrator'] as const;
export type StackService = (typeof STACK_SERVICES)[number];

export const DEFAULT_PORTS: Record<StackService, number> = {
  orchestrator: 7100,
  router: 7101,
  registry: 7102,
  'agent-runner': 7103,
  reviewer: 7104,
  'git-service': 7105,
  'llm-gateway': 7106,
};

export interface StackOptions {
  /** Working state: work dirs, logs, NATS store, trace file. */
  runDir: string;
  vaultPath: string;
  /** Repository root holding dist/apps/<service>/src/main.js. */
  rootDir: string;
  /** An existing NATS server; without it a nats-server is started in runDir/nats. */
  natsUrl?: string;
  ports?: Partial<Record<StackService, number>>;
  /** Added to every service's environment (OTEL_*, LOG_LEVEL...). */
  env?: Record<string, string>;
  /** Per-service environment overrides (tests use it to tune timeouts). */
  serviceEnv?: Partial<Record<StackService, Record<string, string>>>;
  readyTimeoutMs?: number;
}

/**
 * The parent's environment minus secrets a service does not own: only git-service sees forge
 * tokens, only the gateway sees model API keys.
 */
export function inheritedEnv(service: StackService, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (/^(GITHUB_TOKEN|GH_TOKEN|GITHUB_WEBHOOK_SECRET)$/.test(k) && service !== 'git-service') continue;
    if (/_API_KEY$|^GATEWAY_API_KEYS$/.test(k) && service !== 'llm-gateway') continue;
    out[k] = v;
  }
  return out;
}

interface Running {
  child: ChildProcess;
  port: number;
  logFile: string;
}

/**
 * All seven services as separate processes on one machine, for the quick start and the
 * end-to-end tests: the same entry points, configuration and bus as in production.
 */
export class LocalStack {
  private readonly running = new Map<StackService, Running>();
  private nats?: NatsProcess;
  readonly gatewayKey = `agk_${randomBytes(18).toString('hex')}`;
  natsUrl = '';

  constructor(readonly options: StackOptions) {}

  get traceFile(): string {
    return join(this.options.runDir, 'traces.jsonl');
  }

  port(service: StackService): number {
    return this.options.ports?.[service] ?? DEFAULT_PORTS[service];
  }

  url(service: StackService): string {
    return `http://127.0.0.1:${this.port(service)}`;
  }

  logFile(service: StackService): string {
    return join(this.options.runDir, 'logs', `${service}.log`);
  }

  async start(): Promise<void> {
    mkdirSync(join(this.options.runDir, 'logs'), { recursive: true });
    if (this.options.natsUrl) this.natsUrl = this.options.natsUrl;
    else {
      this.nats = await startNats(join(this.options.runDir, 'nats'));
      this.natsUrl = this.nats.url;
    }
    for (const service of STACK_SERVICES) await this.startService(service);
    // Lets other commands (agency status, logs...) find this stack without flags.
    writeFileSync(this.stateFile, `${JSON.stringify({ natsUrl: this.natsUrl, services: Object.fromEntries(STACK_SERVICES.map((s) => [s, this.url(s)])), traceFile: this.traceFile, pid: process.pid }, null, 2)}\n`);
  }

  get stateFile(): string {
    return join(this.options.runDir, 'stack.json');
  }

  envFor(service: StackService): Record<string, string> {
    const o = this.options;
    const gateway = `${this.url('llm-gateway')}/v1`;
    const common: Record<string, string> = {
      NATS_URL: this.natsUrl,
      HTTP_PORT: String(this.port(service)),
      HTTP_HOST: '127.0.0.1',
      VAULT_PATH: o.vaultPath,
      INSTANCE_ID: `${service}-local`,
      ...(o.env?.OTEL_EXPORTER_OTLP_ENDPOINT ? {} : { AGENCY_TRACE_FILE: this.traceFile }),
    };
    const own: Record<StackService, Record<string, string>> = {
      orchestrator: {},
      // Only used when agency.yaml names routing.refine_model (the model's check of the score).
      router: { LLM_GATEWAY_URL: gateway, LLM_GATEWAY_API_KEY: this.gatewayKey },
      registry: {},
      'agent-runner': { WORK_DIR: join(o.runDir, 'work', 'agent-runner'), LLM_GATEWAY_URL: gateway, LLM_GATEWAY_API_KEY: this.gatewayKey },
      reviewer: { LLM_GATEWAY_URL: gateway, LLM_GATEWAY_API_KEY: this.gatewayKey },
      'git-service': { WORK_DIR: join(o.runDir, 'work', 'git-service') },
      'llm-gateway': { GATEWAY_API_KEYS: `agency:${this.gatewayKey}` },
    };
    return { ...common, ...own[service], ...o.env, ...o.serviceEnv?.[service] };
  }

  async startService(service: StackService): Promise<void> {
    if (this.running.has(service)) throw new Error(`${service} is already running`);
    const entry = join(this.options.rootDir, 'dist', 'apps', service, 'src', 'main.js');
    const logFile = this.logFile(service);
    const fd = openSync(logFile, 'a');
    const child = spawn(process.execPath, ['--enable-source-maps', entry], {
      env: { ...inheritedEnv(service), ...this.envFor(service) },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    this.running.set(service, { child, port: this.port(service), logFile });
    child.once('exit', () => {
      if (this.running.get(service)?.child === child) this.running.delete(service);
    });
    await this.waitReady(service, child);
  }

  private async waitReady(service: StackService, child: ChildProcess): Promise<void> {
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      try {
        const res = await fetch(`${this.url(service)}/health/ready`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    const tail = readFileSync(this.logFile(service), 'utf8').trim().split('\n').slice(-8).join('\n');
    throw new Error(`${service} did not become ready (exit ${child.exitCode ?? child.signalCode ?? 'none'}). Last log lines:\n${tail}`);
  }

  /** Stops a service: SIGTERM lets it drain; SIGKILL is a crash. */
  async stopService(service: StackService, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const r = this.running.get(service);
    if (!r) return;
    const gone = new Promise<void>((resolve) => r.child.once('exit', () => resolve()));
    r.child.kill(signal);
    const timer = setTimeout(() => r.child.kill('SIGKILL'), 15_000);
    await gone;
    clearTimeout(timer);
    this.running.delete(service);
  }

  async restartService(service: StackService, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.stopService(service, signal);
    await this.startService(service);
  }

  isRunning(service: StackService): boolean {
    return this.running.has(service);
  }

  async stop(): Promise<void> {
    for (const service of [...STACK_SERVICES].reverse()) await this.stopService(service);
    await this.nats?.stop();
    rmSync(this.stateFile, { force: true });
  }
}
