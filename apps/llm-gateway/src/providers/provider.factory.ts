import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { Clock } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { Environment } from '../common/environment.js';
import type { HttpProviderSettings, ProviderSettings } from '../config/provider-settings.js';
import { CassetteFileRepository } from './cassette/cassette-file.repository.js';
import { publicUrl, type CassetteWire } from './cassette/cassette.js';
import { RecordingTransport } from './cassette/recording.transport.js';
import { ReplayTransport, type ReplayMatch } from './cassette/replay.transport.js';
import { DEFAULT_TIMEOUTS, HttpProvider } from './http/http.provider.js';
import { HttpTransport } from './http/http.transport.js';
import type { LlmProvider } from './llm-provider.js';
import { ScriptFileRepository } from './scripted/script-file.repository.js';
import { PromptCache } from './scripted/prompt-cache.js';
import { ScriptedProvider } from './scripted/scripted.provider.js';
import { ANTHROPIC_BASE_URL, ANTHROPIC_VERSION, AnthropicWire, DEFAULT_ANTHROPIC_MAX_TOKENS } from './wire/anthropic.wire.js';
import { OPENAI_BASE_URL, OpenAiWire } from './wire/openai.wire.js';
import type { WireFormat } from './wire/wire-format.js';

type Transport = ConstructorParameters<typeof HttpProvider>[2];

/** Where an HTTP provider sends its calls, and how it says who it is. */
function wireOf(s: HttpProviderSettings, apiKey: string | undefined): { wire: WireFormat; cassette: CassetteWire } {
  const extra = s.headers ?? {};
  if (s.type === 'anthropic') {
    // The SDK's base URL has no /v1; accept both spellings.
    const baseUrl = (s.baseUrl ?? ANTHROPIC_BASE_URL).replace(/\/v1\/?$/, '');
    const maxTokens = s.defaultMaxTokens ?? DEFAULT_ANTHROPIC_MAX_TOKENS;
    const headers = { ...extra, 'content-type': 'application/json', 'anthropic-version': ANTHROPIC_VERSION, ...(apiKey ? { 'x-api-key': apiKey } : {}) };
    return {
      wire: new AnthropicWire(s.name, baseUrl, headers, maxTokens),
      cassette: { type: s.type, baseUrl: publicUrl(baseUrl), defaultMaxTokens: maxTokens },
    };
  }
  // openai-compatible always has one (the schema requires it); openai defaults to api.openai.com.
  const baseUrl = s.baseUrl ?? OPENAI_BASE_URL;
  const headers = { ...extra, 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) };
  return {
    wire: new OpenAiWire(s.name, baseUrl, headers, s.type === 'openai' ? 'max_completion_tokens' : 'max_tokens'),
    cassette: { type: s.type, baseUrl: publicUrl(baseUrl) },
  };
}

/** Builds a provider from its validated settings; the one place that knows every provider class. */
@Injectable()
export class ProviderFactory {
  constructor(
    private readonly scripts: ScriptFileRepository,
    private readonly transport: HttpTransport,
    private readonly cassettes: CassetteFileRepository,
    private readonly env: Environment,
    private readonly clock: Clock,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  /** `all` is the whole providers section: a record provider wraps one of them. */
  create(settings: ProviderSettings, all: ReadonlyMap<string, ProviderSettings>): LlmProvider {
    switch (settings.type) {
      case 'scripted': {
        const provider = new ScriptedProvider(settings.name, settings.script, this.scripts, new PromptCache(() => this.clock.nowMs()));
        provider.validate();
        return provider;
      }
      case 'record': {
        const inner = all.get(settings.provider) as HttpProviderSettings;
        return this.http(
          { ...inner, name: settings.name },
          (cassette) =>
            new RecordingTransport(
              this.transport,
              this.cassettes,
              settings.cassette,
              settings.name,
              cassette,
              () => this.clock.now(),
              (e) => this.logger.error({ err: e, cassette: settings.cassette }, 'an exchange could not be written to the cassette'),
            ),
        );
      }
      case 'replay':
        return this.replay(settings.name, settings.cassette, settings.match);
      default:
        return this.http(settings, () => this.transport);
    }
  }

  private http(s: HttpProviderSettings, transportFor: (cassette: CassetteWire) => Transport): LlmProvider {
    const apiKey = s.apiKeyEnv ? this.env.get(s.apiKeyEnv) : undefined;
    // Only the variable's name is ever shown, never its value.
    if (s.apiKeyEnv && !apiKey && s.type !== 'openai-compatible') throw new Error(`environment variable ${s.apiKeyEnv} (api_key_env) is not set`);
    const { wire, cassette } = wireOf(s, apiKey);
    return new HttpProvider(s.name, wire, transportFor(cassette), { ...DEFAULT_TIMEOUTS, ...pick(s) }, () => this.clock.nowMs());
  }

  private replay(name: string, file: string, match: ReplayMatch): LlmProvider {
    const exchanges = this.cassettes.load(file);
    if (exchanges.length === 0) throw new Error(`cassette ${file} holds no exchange to replay`);
    const wire = exchanges[0]!.wire;
    const other = exchanges.find((e) => e.wire.type !== wire.type || e.wire.defaultMaxTokens !== wire.defaultMaxTokens);
    if (other)
      throw new Error(
        `cassette ${file} mixes recordings of different providers (${wire.type} and ${other.wire.type}); give each record provider its own cassette`,
      );
    const settings: HttpProviderSettings =
      wire.type === 'openai-compatible'
        ? { name, type: wire.type, baseUrl: wire.baseUrl }
        : { name, type: wire.type, apiKeyEnv: '', baseUrl: wire.baseUrl, ...(wire.defaultMaxTokens ? { defaultMaxTokens: wire.defaultMaxTokens } : {}) };
    const { wire: format } = wireOf(settings, undefined);
    return new HttpProvider(name, format, new ReplayTransport(name, file, this.cassettes, match), DEFAULT_TIMEOUTS, () => this.clock.nowMs());
  }
}

function pick(s: HttpProviderSettings): Partial<typeof DEFAULT_TIMEOUTS> {
  return {
    ...(s.timeoutMs !== undefined ? { timeoutMs: s.timeoutMs } : {}),
    ...(s.idleTimeoutMs !== undefined ? { idleTimeoutMs: s.idleTimeoutMs } : {}),
    ...(s.streamUpstream !== undefined ? { streamUpstream: s.streamUpstream } : {}),
  };
}
