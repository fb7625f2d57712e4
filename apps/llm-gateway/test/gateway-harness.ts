import 'reflect-metadata';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { Messages, STREAMS, type Envelope, type LlmUsageEvent } from '@agency/contracts';
import { runService, type RunningService } from '@agency/bootstrap';
import { BusConnection } from '@agency/messaging';
import { freePort, readStream, startNatsServer, tempDir, type NatsServerHandle, type TempDir } from '@agency/testing';
import { LLM_GATEWAY_SERVICE } from '../src/llm-gateway.service.js';
import { writeVault } from './gateway-fixture.js';
import { ANTHROPIC_UPSTREAM_KEY, startAnthropicUpstream } from './upstreams/anthropic.upstream.js';
import { OPENAI_UPSTREAM_KEY, startOpenAiUpstream } from './upstreams/openai.upstream.js';
import type { Script, Upstream, UpstreamOptions } from './upstreams/upstream-server.js';

export const GATEWAY_KEY = 'agents-secret-0123456789';
/** The variables the test vaults name in api_key_env. */
export const UPSTREAM_KEY_ENV = { TEST_OPENAI_UPSTREAM_KEY: OPENAI_UPSTREAM_KEY, TEST_ANTHROPIC_UPSTREAM_KEY: ANTHROPIC_UPSTREAM_KEY };

export interface Gateway {
  /** http://127.0.0.1:<port> (the Anthropic SDK's base URL; OpenAI's is `${origin}/v1`). */
  origin: string;
  dir: TempDir;
  vault: string;
  nats: NatsServerHandle;
  bus: BusConnection;
  openai(options?: { apiKey?: string }): OpenAI;
  anthropic(options?: { apiKey?: string }): Anthropic;
  usageEvents(frId: string): Promise<Envelope<LlmUsageEvent>[]>;
  /** Closes the gateway only (as a rollout stops it): NATS and the test's bus connection stay up. */
  stop(): Promise<void>;
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** Extra GATEWAY_API_KEYS entries (id:secret). */
  extraKeys?: string[];
  /** An already running NATS (e.g. to restart the gateway on the same bus). */
  nats?: NatsServerHandle;
  dir?: TempDir;
  /** More variables for the gateway (e.g. SHUTDOWN_FLUSH_MS, WORK_DIR). */
  env?: Record<string, string>;
}

/** Boots the real gateway (runService) on a fresh vault whose llm section is `llm`, with its own NATS. */
export async function startGateway(llm: string, options: GatewayOptions = {}): Promise<Gateway> {
  for (const [k, v] of Object.entries(UPSTREAM_KEY_ENV)) process.env[k] = v;
  const nats = options.nats ?? (await startNatsServer());
  const dir = options.dir ?? tempDir('llm-gateway-');
  const vault = join(dir.path, 'vault');
  writeVault(vault, llm);
  const port = await freePort();
  const service: RunningService = await runService(LLM_GATEWAY_SERVICE, {
    NATS_URL: nats.url,
    HTTP_PORT: String(port),
    HTTP_HOST: '127.0.0.1',
    VAULT_PATH: vault,
    GATEWAY_API_KEYS: [`agents:${GATEWAY_KEY}`, ...(options.extraKeys ?? [])].join(','),
    LOG_LEVEL: 'fatal',
    ...options.env,
  });
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= service.close());
  const bus = await BusConnection.connect({ servers: nats.url, name: 'gateway-test' });
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    dir,
    vault,
    nats,
    bus,
    openai: (o = {}) => new OpenAI({ baseURL: `${origin}/v1`, apiKey: o.apiKey ?? GATEWAY_KEY, maxRetries: 0 }),
    anthropic: (o = {}) => new Anthropic({ baseURL: origin, apiKey: o.apiKey ?? GATEWAY_KEY, maxRetries: 0 }),
    usageEvents: async (frId) => {
      const all = await readStream(bus.js, STREAMS.events.name, Messages.LlmUsage.subject);
      return all.map((m) => JSON.parse(m.text) as Envelope<LlmUsageEvent>).filter((e) => e.frId === frId);
    },
    stop,
    close: async () => {
      await bus.close();
      await stop();
      if (!options.nats) await nats.dispose();
      if (!options.dir) dir.remove();
    },
  };
}

/** Provider lines (YAML, under llm.providers) for a local OpenAI (oa), Anthropic (claude) and OpenAI-compatible server (local). */
export function vendorProviders(openAiUrl: string, anthropicUrl: string, compatibleUrl: string): string {
  return `    oa: { type: openai, base_url: "${openAiUrl}/v1", api_key_env: TEST_OPENAI_UPSTREAM_KEY }
    claude: { type: anthropic, base_url: "${anthropicUrl}", api_key_env: TEST_ANTHROPIC_UPSTREAM_KEY }
    local: { type: openai-compatible, base_url: "${compatibleUrl}/v1" }`;
}

/** An llm section with an OpenAI and an Anthropic provider pointed at local upstreams. */
export function vendorLlm(openAiUrl: string, anthropicUrl: string, extra = ''): string {
  return `llm:
  providers:
    oa: { type: openai, base_url: "${openAiUrl}/v1", api_key_env: TEST_OPENAI_UPSTREAM_KEY }
    claude: { type: anthropic, base_url: "${anthropicUrl}", api_key_env: TEST_ANTHROPIC_UPSTREAM_KEY }
  models:
    gpt: [oa/gpt-4.1]
    claude: [claude/claude-sonnet-4-5]
  prices:
    oa/gpt-4.1: { input_per_mtok: 2.0, output_per_mtok: 8.0, cached_input_per_mtok: 0.5 }
    claude/claude-sonnet-4-5: { input_per_mtok: 3.0, output_per_mtok: 15.0, cached_input_per_mtok: 0.3 }
${extra}`;
}

/** A gateway in front of a local OpenAI and a local Anthropic, with an SDK client of each. */
export interface VendorGateway {
  openAiUp: Upstream;
  anthropicUp: Upstream;
  gw: Gateway;
  openai: OpenAI;
  anthropic: Anthropic;
}

/**
 * Starts both vendors and a gateway (vendorLlm, plus `extraLlm`) before the suite's tests and
 * stops them after; the vendors' request logs are cleared before each test.
 */
export function useVendorGateway(openAi: Script, anthropic: Script, options: UpstreamOptions & { extraLlm?: string } = {}): VendorGateway {
  const setup = {} as VendorGateway;
  beforeAll(async () => {
    setup.openAiUp = await startOpenAiUpstream(openAi, options);
    setup.anthropicUp = await startAnthropicUpstream(anthropic, options);
    setup.gw = await startGateway(vendorLlm(setup.openAiUp.url, setup.anthropicUp.url, options.extraLlm));
    setup.openai = setup.gw.openai();
    setup.anthropic = setup.gw.anthropic();
  });
  afterAll(async () => {
    await setup.gw?.close();
    await setup.openAiUp?.close();
    await setup.anthropicUp?.close();
  });
  beforeEach(() => {
    if (setup.openAiUp) setup.openAiUp.requests.length = 0;
    if (setup.anthropicUp) setup.anthropicUp.requests.length = 0;
  });
  return setup;
}

/**
 * An llm section for record/replay tests: `providers` (YAML lines) name `oa` and `claude`, where
 * CASSETTES stands for <dir>/cassettes; `aliases` map alias names to oa/gpt-4.1 or claude/claude-sonnet-4-5.
 */
export function cassetteLlm(dir: string, providers: string, aliases: Record<string, 'oa/gpt-4.1' | 'claude/claude-sonnet-4-5'>, extra = ''): string {
  const models = Object.entries(aliases)
    .map(([alias, ref]) => `    ${alias}: [${ref}]`)
    .join('\n');
  return `llm:
  providers:
${providers}
  models:
${models}
  prices:
    oa/gpt-4.1: { input_per_mtok: 2, output_per_mtok: 8 }
    claude/claude-sonnet-4-5: { input_per_mtok: 3, output_per_mtok: 15 }
${extra}`.replaceAll('CASSETTES', join(dir, 'cassettes'));
}

export const READ_FILE_TOOL = {
  name: 'read_file',
  description: 'Reads a file of the repository',
  schema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
};
