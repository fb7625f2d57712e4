import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { loadAgencyConfig } from '@agency/vault';
import { declaredSettings, serviceParentEnv } from './child-env.js';
import { processStartTime, reapLeftoverProcesses, reapSandboxes, type RecordedStack } from './leftovers.js';
import { generateNatsCredentials, natsPasswordEnv, renderNatsAuthorization, type NatsCredentials, type NatsPrincipal } from './nats-auth.js';
import { startNats, type NatsProcess } from './nats-process.js';
import { gatewayApiKeys, STACK_GATEWAY_KEY_ID } from './gateway-keys.js';
import { assertPortsFree, portHolder } from './port-holder.js';
import { DEFAULT_PORT_BASE, PORT_OFFSETS, STACK_SERVICES, type StackProcess } from './services.js';

export interface StackOptions {
  /** Working state: work dirs, logs, NATS store, trace file. */
  runDir: string;
  vaultPath: string;
  /** Repository root holding dist/apps/<service>/src/main.js. */
  rootDir: string;
  /**
   * An existing NATS server; without it a nats-server is started in runDir/nats, with a user per
   * service (fresh passwords at every start, each passed only to its service) and their permissions.
   */
  natsUrl?: string;
  /** Every process listens on base + its offset (PORT_OFFSETS); default 7100. */
  portBase?: number;
  /** Ports of single processes, over the base. */
  ports?: Partial<Record<StackProcess, number>>;
  /** Added to every service's environment (OTEL_*, LOG_LEVEL...). */
  env?: Record<string, string>;
  /**
   * Gateway keys of a person's own (`id:secret,...`, the GATEWAY_API_KEYS `agency up` was given):
   * the gateway takes them beside the stack's own key, so other tools can share it. The stack
   * never reads them from the parent environment itself.
   */
  gatewayApiKeys?: string;
  /** Per-service environment overrides (tests use it to tune timeouts). */
  serviceEnv?: Partial<Record<StackProcess, Record<string, string>>>;
  /** Also start the web dashboard (after the services, on its port: base + 7), as the quick start does. */
  dashboard?: boolean;
  readyTimeoutMs?: number;
  /** Told as the stack starts: what it reaped, each service starting and ready (the quick start prints them). */
  onProgress?: (event: StackProgress) => void;
}

export type StackProgress =
  | { kind: 'reaped'; what: string[]; why: string }
  | { kind: 'starting'; process: StackProcess | 'nats-server' }
  | { kind: 'ready'; process: StackProcess | 'nats-server'; ms: number };

/** /health/live and /health/ready name the service and the stack that started it. */
interface HealthIdentity {
  service?: string;
  stack?: string;
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
  private readonly running = new Map<StackProcess, Running>();
  private nats?: NatsProcess;
  private natsAuth?: Record<NatsPrincipal, NatsCredentials>;
  readonly gatewayKey = `agk_${randomBytes(18).toString('hex')}`;
  /** The id of the stack's own gateway key (its agents and the CLI's `agency gateway` use it). */
  readonly gatewayKeyId = STACK_GATEWAY_KEY_ID;
  /**
   * This stack, as every service it starts reports it on /health (STACK_ID): readiness checks
   * accept only an answer from a process of this stack, never another one on the same port.
   */
  readonly stackId = `stack-${randomBytes(6).toString('hex')}`;
  /**
   * The agent-runner's sandbox owner: stable for this run directory on this host, so every start
   * (the runner's, and the stack's own before and after it) removes what an earlier one left.
   */
  readonly sandboxOwner: string;
  natsUrl = '';

  constructor(readonly options: StackOptions) {
    // A person's keys that would clash with the stack's own stop it before anything starts.
    if (options.gatewayApiKeys) gatewayApiKeys(STACK_GATEWAY_KEY_ID, options.gatewayApiKeys);
    this.sandboxOwner = `agency-${createHash('sha256')
      .update(`${hostname()}:${resolve(options.runDir)}`)
      .digest('hex')
      .slice(0, 12)}`;
  }

  get traceFile(): string {
    return join(this.options.runDir, 'traces.jsonl');
  }

  port(service: StackProcess): number {
    return this.options.ports?.[service] ?? (this.options.portBase ?? DEFAULT_PORT_BASE) + PORT_OFFSETS[service];
  }

  url(service: StackProcess): string {
    return `http://127.0.0.1:${this.port(service)}`;
  }

  logFile(service: StackProcess): string {
    return join(this.options.runDir, 'logs', `${service}.log`);
  }

  /**
   * Reaps what an earlier stack on this run directory left (processes, sandbox containers),
   * checks every port is free (a taken one stops it before anything starts, naming the port and
   * its holder), then starts NATS (unless given) and the seven services, each only once the one
   * before is ready.
   */
  async start(): Promise<void> {
    mkdirSync(join(this.options.runDir, 'logs'), { recursive: true });
    const progress = this.options.onProgress ?? (() => undefined);
    const processes = await reapLeftoverProcesses(this.stateFile, this.options.runDir);
    if (processes.length > 0) progress({ kind: 'reaped', what: processes, why: 'left running by an earlier start on this run directory' });
    const containers = await reapSandboxes(this.sandboxOwner);
    if (containers.length > 0) progress({ kind: 'reaped', what: containers, why: 'sandbox containers an earlier agent-runner of this run directory left' });
    await assertPortsFree(Object.fromEntries(this.processes.map((s) => [s, this.port(s)])));
    this.writeGatewayKey();
    this.writeState(false);
    if (this.options.natsUrl) this.natsUrl = this.options.natsUrl;
    else {
      progress({ kind: 'starting', process: 'nats-server' });
      const t0 = Date.now();
      await this.startOwnNats();
      progress({ kind: 'ready', process: 'nats-server', ms: Date.now() - t0 });
    }
    for (const service of this.processes) {
      progress({ kind: 'starting', process: service });
      const t0 = Date.now();
      await this.startService(service);
      progress({ kind: 'ready', process: service, ms: Date.now() - t0 });
    }
    this.writeState(true);
  }

  /**
   * stack.json: lets other commands (agency status, logs...) find this stack without flags, and a
   * later start on this run directory find the processes this one leaves if it is killed. Written
   * before the first process starts and again as they do.
   */
  private writeState(ready: boolean): void {
    const processes: RecordedStack['processes'] = {};
    for (const [name, r] of this.running) if (r.child.pid) processes[name] = { pid: r.child.pid, mark: `STACK_ID=${this.stackId}` };
    if (this.nats?.child.pid) processes['nats-server'] = { pid: this.nats.child.pid, mark: join(this.options.runDir, 'nats') };
    const state = {
      ready,
      natsUrl: this.natsUrl,
      ...(this.natsAuth ? { natsCredentialsFile: this.cliCredentialsFile } : {}),
      gateway: { url: `${this.url('llm-gateway')}/v1`, keyFile: this.gatewayKeyFile },
      services: Object.fromEntries(this.processes.map((s) => [s, this.url(s)])),
      traceFile: this.traceFile,
      pid: process.pid,
      pidStartedAt: processStartTime(process.pid),
      stackId: this.stackId,
      processes,
    };
    writeFileSync(this.stateFile, `${JSON.stringify(state, null, 2)}\n`);
  }

  /** nats-server in runDir/nats with the agency's users; its configuration holds no password (they are in its environment). */
  private async startOwnNats(): Promise<void> {
    const auth = generateNatsCredentials();
    const configFile = join(this.options.runDir, 'nats-auth.conf');
    writeFileSync(configFile, renderNatsAuthorization());
    // The CLI's own credentials, for `agency logs` from another shell: readable by this user only.
    mkdirSync(dirname(this.cliCredentialsFile), { recursive: true, mode: 0o700 });
    writeFileSync(this.cliCredentialsFile, `${JSON.stringify(auth.cli)}\n`, { mode: 0o600 });
    this.nats = await startNats(join(this.options.runDir, 'nats'), { configFile, env: natsPasswordEnv(auth), logFile: this.natsLogFile });
    this.natsAuth = auth;
    this.natsUrl = this.nats.url;
  }

  /** The log of the stack's own nats-server: refused logins and permission violations show there. */
  get natsLogFile(): string {
    return join(this.options.runDir, 'logs', 'nats-server.log');
  }

  /**
   * The stack's own gateway key, for a person's tools (`agency gateway` prints it): readable by
   * this user only, removed when the stack stops, never printed by `agency up`.
   */
  get gatewayKeyFile(): string {
    return join(this.options.runDir, 'secrets', 'gateway-key.json');
  }

  private writeGatewayKey(): void {
    mkdirSync(dirname(this.gatewayKeyFile), { recursive: true, mode: 0o700 });
    writeFileSync(this.gatewayKeyFile, `${JSON.stringify({ url: `${this.url('llm-gateway')}/v1`, id: this.gatewayKeyId, key: this.gatewayKey })}\n`, {
      mode: 0o600,
    });
  }

  get cliCredentialsFile(): string {
    return join(this.options.runDir, 'secrets', 'nats-cli.json');
  }

  /** NATS_USER and NATS_PASSWORD of a principal of this stack's own nats-server; empty when it has no users. */
  natsEnv(user: NatsPrincipal): Record<string, string> {
    const c = this.natsAuth?.[user];
    return c ? { NATS_USER: c.user, NATS_PASSWORD: c.password } : {};
  }

  /** A principal's credentials (tests connect as `admin` to read everything, or as a service). */
  natsCredentials(user: NatsPrincipal): NatsCredentials | undefined {
    return this.natsAuth?.[user];
  }

  /** The nats-server this stack started, if it started one. */
  get natsProcess(): NatsProcess | undefined {
    return this.nats;
  }

  get stateFile(): string {
    return join(this.options.runDir, 'stack.json');
  }

  /** What this stack runs, in start order: the seven services, then the dashboard if asked for. */
  get processes(): StackProcess[] {
    return this.options.dashboard ? [...STACK_SERVICES, 'dashboard'] : [...STACK_SERVICES];
  }

  envFor(service: StackProcess): Record<string, string> {
    const o = this.options;
    const gateway = `${this.url('llm-gateway')}/v1`;
    const common: Record<string, string> = {
      NATS_URL: this.natsUrl,
      HTTP_PORT: String(this.port(service)),
      HTTP_HOST: '127.0.0.1',
      VAULT_PATH: o.vaultPath,
      INSTANCE_ID: `${service}-local`,
      ...this.natsEnv(service),
      STACK_ID: this.stackId,
      ...(o.env?.OTEL_EXPORTER_OTLP_ENDPOINT ? {} : { AGENCY_TRACE_FILE: this.traceFile }),
    };
    const own: Record<StackProcess, Record<string, string>> = {
      // A read model over the services' APIs and the audit log; its buttons go through the orchestrator.
      dashboard: { ORCHESTRATOR_URL: this.url('orchestrator'), REGISTRY_URL: this.url('registry'), GIT_SERVICE_URL: this.url('git-service') },
      orchestrator: {},
      // Only used when agency.yaml names routing.refine_model (the model's check of the score).
      router: { LLM_GATEWAY_URL: gateway, LLM_GATEWAY_API_KEY: this.gatewayKey },
      registry: {},
      'agent-runner': {
        WORK_DIR: join(o.runDir, 'work', 'agent-runner'),
        LLM_GATEWAY_URL: gateway,
        LLM_GATEWAY_API_KEY: this.gatewayKey,
        SANDBOX_OWNER: this.sandboxOwner,
      },
      reviewer: { LLM_GATEWAY_URL: gateway, LLM_GATEWAY_API_KEY: this.gatewayKey },
      'git-service': { WORK_DIR: join(o.runDir, 'work', 'git-service') },
      'llm-gateway': {
        GATEWAY_API_KEYS: gatewayApiKeys(`${this.gatewayKeyId}:${this.gatewayKey}`, o.gatewayApiKeys),
        WORK_DIR: join(o.runDir, 'work', 'llm-gateway'),
      },
    };
    return { ...common, ...own[service], ...o.env, ...o.serviceEnv?.[service] };
  }

  /** Environment variables agency.yaml's model providers name for their keys (`api_key_env`). */
  private providerKeyVars(): string[] {
    let llm: Record<string, unknown> | undefined;
    try {
      llm = loadAgencyConfig(this.options.vaultPath).llm;
    } catch {
      return []; // the gateway reports a broken agency.yaml itself
    }
    const providers = (llm?.providers ?? {}) as Record<string, { api_key_env?: unknown } | null>;
    return Object.values(providers).flatMap((p) => (typeof p?.api_key_env === 'string' ? [p.api_key_env] : []));
  }

  async startService(service: StackProcess): Promise<void> {
    if (this.running.has(service)) throw new Error(`${service} is already running`);
    const entry = join(this.options.rootDir, 'dist', 'apps', service, 'src', 'main.js');
    const logFile = this.logFile(service);
    const fd = openSync(logFile, 'a');
    const child = spawn(process.execPath, ['--enable-source-maps', entry], {
      env: {
        ...serviceParentEnv(service, process.env, { declared: declaredSettings(this.options.rootDir, service), providerKeyVars: this.providerKeyVars() }),
        ...this.envFor(service),
      },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    this.running.set(service, { child, port: this.port(service), logFile });
    child.once('exit', () => {
      if (this.running.get(service)?.child === child) this.running.delete(service);
    });
    this.writeState(false);
    await this.waitReady(service, child);
  }

  /**
   * Polls the service's /health/ready until it answers 200 as this service of this stack. An
   * answer from another stack's process on the port is no readiness: it ends the wait at once.
   */
  private async waitReady(service: StackProcess, child: ChildProcess): Promise<void> {
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 30_000);
    const url = `${this.url(service)}/health/ready`;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      let answer: { status: number; body: HealthIdentity } | undefined;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        answer = { status: res.status, body: ((await res.json().catch(() => ({}))) ?? {}) as HealthIdentity };
      } catch {
        // not listening yet
      }
      if (answer && (answer.body.stack !== this.stackId || answer.body.service !== service)) {
        const holder = portHolder(this.port(service));
        throw new Error(
          `${url} answers for ${answer.body.service ?? 'something else'}${answer.body.stack ? ` of stack ${answer.body.stack}` : ''}, not ${service} of this stack (${this.stackId})${holder ? `: port ${this.port(service)} is held by pid ${holder.pid}: ${holder.command}` : ''}`,
        );
      }
      if (answer?.status === 200) return;
      await new Promise((r) => setTimeout(r, 150));
    }
    const tail = readFileSync(this.logFile(service), 'utf8').trim().split('\n').slice(-8).join('\n');
    const taken = /EADDRINUSE/.test(tail) ? portHolder(this.port(service)) : undefined;
    const why = taken ? ` port ${this.port(service)} was taken meanwhile by pid ${taken.pid}: ${taken.command}.` : '';
    throw new Error(`${service} did not become ready (exit ${child.exitCode ?? child.signalCode ?? 'none'}).${why} Last log lines:\n${tail}`);
  }

  /** Stops a service: SIGTERM lets it drain; SIGKILL is a crash. */
  async stopService(service: StackProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const r = this.running.get(service);
    if (!r) return;
    const gone = new Promise<void>((resolve) => r.child.once('exit', () => resolve()));
    r.child.kill(signal);
    const timer = setTimeout(() => r.child.kill('SIGKILL'), 15_000);
    await gone;
    clearTimeout(timer);
    this.running.delete(service);
  }

  async restartService(service: StackProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.stopService(service, signal);
    await this.startService(service);
  }

  /** The process id of a running service (tests read what its environment holds). */
  pid(service: StackProcess): number | undefined {
    return this.running.get(service)?.child.pid;
  }

  isRunning(service: StackProcess): boolean {
    return this.running.has(service);
  }

  /** Stops every service and NATS, then removes sandbox containers a killed agent-runner could not. */
  async stop(): Promise<void> {
    for (const service of [...this.processes].reverse()) await this.stopService(service);
    await this.nats?.stop();
    await reapSandboxes(this.sandboxOwner);
    rmSync(this.stateFile, { force: true });
    rmSync(this.cliCredentialsFile, { force: true });
    rmSync(this.gatewayKeyFile, { force: true });
  }
}
