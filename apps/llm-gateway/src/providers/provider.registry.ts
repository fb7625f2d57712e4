import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { AgencyPinoLogger } from '@agency/telemetry';
import type { AgencyConfig } from '@agency/vault';
import { AgencyConfigSource } from '../config/agency-config.source.js';
import { LlmSettingsError, parseLlmSettings, type LlmSettings, type ModelPrice } from '../config/llm-settings.js';
import type { LlmProvider } from './llm-provider.js';
import { ProviderFactory } from './provider.factory.js';

/** One entry of an alias's list, ready to call. */
export interface ResolvedTarget {
  /** `provider/model`, the key of the price table. */
  ref: string;
  provider: LlmProvider;
  /** The provider's own model name. */
  model: string;
  price: ModelPrice;
}

interface Snapshot {
  source: AgencyConfig;
  settings: LlmSettings;
  providers: ReadonlyMap<string, { settingsJson: string; provider: LlmProvider }>;
}

export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/**
 * Model aliases and the providers behind them, from the llm section of agency.yaml. The file is
 * re-read when it changes; a provider whose settings did not change keeps its instance (and a
 * scripted provider its reply counters). At boot a bad section stops the gateway; later, a bad
 * edit is logged and the last good configuration keeps serving, because agency.yaml is shared
 * with the other services and a typo elsewhere in it must not take model calls down.
 */
@Injectable()
export class ProviderRegistry implements OnModuleInit {
  private snapshot?: Snapshot;
  private lastProblem?: string;

  constructor(
    private readonly source: AgencyConfigSource,
    private readonly factory: ProviderFactory,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  onModuleInit(): void {
    this.refresh();
  }

  aliases(): string[] {
    return [...this.refresh().settings.models.keys()];
  }

  /** The alias's ordered targets (first answers, the rest are fallbacks); undefined if unknown. */
  targets(alias: string): ResolvedTarget[] | undefined {
    const snap = this.refresh();
    const list = snap.settings.models.get(alias);
    return list?.map((t) => ({ ref: t.ref, provider: snap.providers.get(t.provider)!.provider, model: t.model, price: snap.settings.prices.get(t.ref)! }));
  }

  private refresh(): Snapshot {
    let source: AgencyConfig;
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
      return this.snapshot;
    }
  }

  private build(source: AgencyConfig): Snapshot {
    const settings = parseLlmSettings(source.llm, this.source.configDir);
    const providers = new Map<string, { settingsJson: string; provider: LlmProvider }>();
    const problems: string[] = [];
    for (const [name, ps] of settings.providers) {
      const settingsJson = JSON.stringify(ps);
      const previous = this.snapshot?.providers.get(name);
      if (previous?.settingsJson === settingsJson) {
        providers.set(name, previous);
        continue;
      }
      try {
        providers.set(name, { settingsJson, provider: this.factory.create(ps) });
      } catch (e) {
        problems.push(`llm.providers.${name}: ${(e as Error).message}`);
      }
    }
    if (problems.length > 0) throw new LlmSettingsError(problems);
    return { source, settings, providers };
  }
}
