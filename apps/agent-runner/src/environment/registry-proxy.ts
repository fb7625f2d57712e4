import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { AgentRunnerConfig, sandboxOwnerOf } from '../agent-runner.config.js';
import { containerName, LABELS } from '../sandbox/docker/container-spec.js';
import { DockerEngine } from '../sandbox/docker/docker.engine.js';
import { SandboxError } from '../sandbox/sandbox.js';
import { PROXY_PORT, registryProxyArgs } from './registry-proxy.server.js';

/** The proxy's name on the setup's network. */
export const PROXY_HOST = 'registry-proxy';
const READY_TIMEOUT_MS = 30_000;

/** One setup's way out: its `--internal` network, the proxy on it, and what the proxy refused. */
export interface ProxyHandle {
  /** The Docker network the setup container joins (nothing else is reachable from it). */
  network: string;
  /** Proxy variables for the setup's commands (npm, pip, go, cargo, bundler, curl, Node's fetch). */
  env: Record<string, string>;
  /** `CONNECT evil.example:443`-style lines for every request the proxy refused so far. */
  refusals(): string[];
  close(): Promise<void>;
}

export function proxyEnv(url: string): Record<string, string> {
  return {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    npm_config_proxy: url,
    npm_config_https_proxy: url,
    YARN_HTTP_PROXY: url,
    YARN_HTTPS_PROXY: url,
    NODE_USE_ENV_PROXY: '1',
    NO_PROXY: '',
    no_proxy: '',
  };
}

/**
 * The allowlisting proxy of a setup (as Codex's and Copilot's environments do): per setup, a
 * fresh `--internal` Docker network (no route out, and no other job's containers on it) and a
 * small hardened proxy container that sits on it and on an egress network, letting through only
 * HTTP(S) to the allowed registries. The setup container joins the internal network only.
 */
@Injectable()
export class RegistryProxies {
  private readonly owner: string;
  private readonly image: string;

  constructor(
    private readonly config: AgentRunnerConfig,
    private readonly engine: DockerEngine,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {
    this.owner = sandboxOwnerOf(config);
    this.image = config.REGISTRY_PROXY_IMAGE ?? config.SANDBOX_IMAGE;
  }

  async start(jobId: string, allow: readonly string[]): Promise<ProxyHandle> {
    const id = randomUUID().slice(0, 8);
    const labels = { [LABELS.sandbox]: 'true', [LABELS.owner]: this.owner, 'agency.sandbox.role': 'registry-proxy' };
    let networkId: string;
    try {
      networkId = await this.engine.createNetwork(containerName('agency-setup', this.owner, jobId, id), true, labels);
    } catch (e) {
      throw new SandboxError('SANDBOX_UNAVAILABLE', `cannot create the setup's internal network for the registry proxy: ${(e as Error).message}`);
    }
    const refused: string[] = [];
    let containerId: string | undefined;
    const close = async () => {
      if (containerId) await this.engine.remove(containerId).catch((err: unknown) => this.logger.warn({ err, jobId }, 'registry proxy container not removed'));
      await this.engine.removeNetwork(networkId).catch((err: unknown) => this.logger.warn({ err, jobId }, 'setup network not removed'));
    };
    try {
      const attached = await this.engine.createAttached(
        {
          name: containerName('agency-proxy', this.owner, jobId, id),
          Image: this.image,
          User: '65534:65534',
          Entrypoint: ['node'],
          Cmd: registryProxyArgs(allow),
          Env: [],
          Labels: labels,
          AttachStdin: true,
          AttachStdout: true,
          AttachStderr: true,
          OpenStdin: true,
          Tty: false,
          HostConfig: {
            NetworkMode: this.config.REGISTRY_PROXY_EGRESS_NETWORK,
            ReadonlyRootfs: true,
            CapDrop: ['ALL'],
            SecurityOpt: ['no-new-privileges'],
            Init: true,
            Memory: 128 * 1024 * 1024,
            MemorySwap: 128 * 1024 * 1024,
            PidsLimit: 64,
            LogConfig: { Type: 'none', Config: {} },
            RestartPolicy: { Name: 'no' },
          },
        },
        (cid) => this.engine.connect(networkId, cid, [PROXY_HOST]),
      );
      containerId = attached.id;
      await waitReady(attached.stdout, (line) => {
        const msg = parseLine(line);
        if (msg?.t === 'refuse') refused.push(`${String(msg.method)} ${String(msg.host)}:${String(msg.port)}`);
        return msg?.t === 'ready';
      });
    } catch (e) {
      await close();
      if (e instanceof SandboxError) throw e;
      throw new SandboxError('SANDBOX_UNAVAILABLE', `the registry proxy (image ${this.image}) did not start: ${(e as Error).message}`);
    }
    return { network: networkId, env: proxyEnv(`http://${PROXY_HOST}:${PROXY_PORT}`), refusals: () => [...refused], close };
  }
}

function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Reads the proxy's JSON lines for good; resolves at its `ready` line. */
function waitReady(stdout: NodeJS.ReadableStream, onLine: (line: string) => boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let pending = '';
    let ready = false;
    const timer = setTimeout(() => reject(new Error(`no ready line within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
    stdout.setEncoding('utf8');
    stdout.on('data', (text: string) => {
      pending += text;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (onLine(line) && !ready) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      }
    });
    stdout.once('end', () => {
      clearTimeout(timer);
      if (!ready) reject(new Error('the proxy exited before it was ready'));
    });
  });
}
