import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { Clock } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { LlmConfigSource, type LlmSection } from '../config/llm-config.source.js';
import { LlmSettingsError, parseLlmSettings, type LlmSettings } from '../config/llm-settings.js';
import { targetPrice, type TargetPrice } from '../pricing/cost.js';
import type { ProviderSettings } from '../config/provider-settings.js';
import { LlmGatewayConfig } from '../llm-gateway.config.js';
import { CircuitBreaker } from '../routing/circuit-breaker.js';
import { ProviderLimiter, type LimiterSettings } from '../routing/provider-limiter.js';
import type { LlmProvider } from './llm-provider.js';
import { ProviderFactory } from './provider.factory.js';

/** One entry of an alias's list, ready to call. */
export interface ResolvedTarget {
  /** `provider/model`, the key of the price table. */
  ref: string;
  provider: LlmProvider;
  /** The provider's own model name. */
  model: string;
  /** Cache prices filled in from the provider's vendor where llm.prices has none. */
  price: TargetPrice;
  /** The provider's concurrency and rate limits (shared by every alias that uses it). */
  limiter: ProviderLimiter;
  /** Skips this provider/model for a while after it timed out or failed hard (shared by every alias that uses it). */
  breaker: CircuitBreaker;
}

interface ProviderEntry {
  settingsJson: string;
  provider: LlmProvider;
  limiter: ProviderLimiter;
  /** Per model of the provider. */
  breakers: Map<string, CircuitBreaker>;
}

function breakerOf(entry: ProviderEntry, model: string): CircuitBreaker {
  let breaker = entry.breakers.get(model);
  if (!breaker) entry.breakers.set(model, (breaker = new CircuitBreaker()));
  return breaker;
}

interface Snapshot {
  source: LlmSection;
  settings: LlmSettings;
  providers: ReadonlyMap<string, ProviderEntry>;
  targets: ReadonlyMap<string, ResolvedTarget[]>;
  aliases: string[];
}

export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/** The settings that decide a provider's behaviour: a record provider's include the provider it wraps. */
function effectiveSettings(s: ProviderSettings, all: ReadonlyMap<string, ProviderSettings>): ProviderSettings[] {
  return s.type === 'record' && all.get(s.provider) ? [s, all.get(s.provider)!] : [s];
}

function limitsOf(s: ProviderSettings, all: ReadonlyMap<string, ProviderSettings>): LimiterSettings {
  const own = s.type === 'record' ? all.get(s.provider) : s;
  if (!own || own.type === 'scripted' || own.type === 'replay' || own.type === 'record') return {};
  return { maxConcurrency: own.maxConcurrency, requestsPerMinute: own.requestsPerMinute, tokensPerMinute: own.tokensPerMinute };
}

/**
 * Model aliases and the providers behind them, from the llm section of agency.yaml. The file is
 * re-read when it changes; a provider whose settings did not change keeps its instance (and its
 * limiter, circuit breakers, and a scripted provider its reply counters). At boot a bad section stops the gateway;
 * later, a bad edit is logged and the last good configuration keeps serving, because agency.yaml
 * is shared with the other services and a typo elsewhere in it must not take model calls down.
 */
@Injectable()
export class ProviderRegistry implements OnModuleInit {
  private snapshot?: Snapshot;
  private lastProblem?: string;

  constructor(
    private readonly source: LlmConfigSource,
    private readonly factory: ProviderFactory,
    private readonly config: LlmGatewayConfig,
    private readonly clock: Clock,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  onModuleInit(): void {
    this.refresh();
  }

  aliases(): string[] {
    return this.refresh().aliases;
  }

  /** The alias's ordered targets (first answers, the rest are fallbacks); undefined if unknown. */
  targets(alias: string): ResolvedTarget[] | undefined {
    return this.refresh().targets.get(alias);
  }

  /** Each provider/model's circuit breaker: open while calls skip it. */
  breakerStates(): Array<{ model: string; open: boolean }> {
    const now = this.clock.nowMs();
    const seen = new Map<string, boolean>();
    for (const list of this.refresh().targets.values()) for (const t of list) seen.set(t.ref, t.breaker.isOpen(now));
    return [...seen].map(([model, open]) => ({ model, open }));
  }

  /** The whole validated llm section (routing, keys, budgets). */
  settings(): LlmSettings {
    return this.refresh().settings;
  }

  private refresh(): Snapshot {
    let source: LlmSection | undefined;
    try {
      source = this.source.current();
      if (this.snapshot?.source === source) return this.snapshot;
      this.snapshot = this.build(source);
      this.lastProblem = undefined;
      return this.snapshot;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (!this.snapshot) throw new ConfigurationError(message);
      if (this.lastProblem !== message) {
        this.logger.error({ problem: message }, 'agency.yaml changed but its llm section cannot be used; the last good configuration keeps serving');
        this.lastProblem = message;
      }
      // Do not parse the same broken section again on every call.
      if (source) this.snapshot = { ...this.snapshot, source };
      return this.snapshot;
    }
  }

  private build(source: LlmSection): Snapshot {
    const settings = parseLlmSettings(source.llm, this.source.configDir);
    const problems: string[] = [];
    const envKeys = new Set(this.config.GATEWAY_API_KEYS.ids);
    for (const key of settings.keys.values()) {
      if (!key.sha256 && !envKeys.has(key.id))
        problems.push(`llm.keys.${key.id}: has no sha256, and GATEWAY_API_KEYS has no key "${key.id}" for it to apply to`);
    }
    const providers = new Map<string, ProviderEntry>();
    for (const [name, ps] of settings.providers) {
      const settingsJson = JSON.stringify(effectiveSettings(ps, settings.providers));
      const previous = this.snapshot?.providers.get(name);
      if (previous?.settingsJson === settingsJson) {
        providers.set(name, previous);
        continue;
      }
      try {
        const provider = this.factory.create(ps, settings.providers);
        providers.set(name, {
          settingsJson,
          provider,
          limiter: new ProviderLimiter(limitsOf(ps, settings.providers), () => this.clock.nowMs()),
          breakers: new Map(),
        });
      } catch (e) {
        problems.push(`llm.providers.${name}: ${(e as Error).message}`);
      }
    }
    if (problems.length > 0) throw new LlmSettingsError(problems);
    const targets = new Map<string, ResolvedTarget[]>();
    for (const [alias, list] of settings.models) {
      targets.set(
        alias,
        list.map((t) => {
          const entry = providers.get(t.provider)!;
          return {
            ref: t.ref,
            provider: entry.provider,
            model: t.model,
            price: targetPrice(settings.prices.get(t.ref)!, entry.provider.type),
            limiter: entry.limiter,
            breaker: breakerOf(entry, t.model),
          };
        }),
      );
    }
    return { source, settings, providers, targets, aliases: [...settings.models.keys()] };
  }
}
