import { Injectable } from '@nestjs/common';
import type { ProviderSettings } from '../config/llm-settings.js';
import type { LlmProvider } from './llm-provider.js';
import { ScriptFileRepository } from './scripted/script-file.repository.js';
import { ScriptedProvider } from './scripted/scripted.provider.js';

/** Provider types this build can run; the vendor providers join this list as they land. */
export const AVAILABLE_PROVIDER_TYPES = ['scripted'] as const;

/** Builds a provider from its validated settings; the one place that knows every provider class. */
@Injectable()
export class ProviderFactory {
  constructor(private readonly scripts: ScriptFileRepository) {}

  create(settings: ProviderSettings): LlmProvider {
    switch (settings.type) {
      case 'scripted': {
        const provider = new ScriptedProvider(settings.name, settings.script, this.scripts);
        provider.validate();
        return provider;
      }
      default:
        throw new Error(`provider type "${settings.type}" is not available in this gateway yet (available: ${AVAILABLE_PROVIDER_TYPES.join(', ')})`);
    }
  }
}
