import { existsSync, readFileSync } from 'node:fs';
import { runningStack, type StackState } from '../api.client.js';

/** What the stack writes to its gateway key file (LocalStack.gatewayKeyFile). */
export interface GatewayKey {
  url: string;
  id: string;
  key: string;
}

/**
 * The running stack's gateway and its own key, for other tools on this machine: as shell exports
 * for OpenAI clients (OPENAI_BASE_URL, OPENAI_API_KEY), or the key alone with --key.
 */
export function gateway(options: { key?: boolean }, stack: StackState | undefined = runningStack()): number {
  const file = stack?.gateway?.keyFile;
  if (!file || !existsSync(file)) throw new Error('no local agency is running here (its gateway key is written at start): npm start');
  const g = JSON.parse(readFileSync(file, 'utf8')) as GatewayKey;
  console.log(options.key ? g.key : gatewayExports(g));
  return 0;
}

export function gatewayExports(g: GatewayKey): string {
  return [
    `# the agency's LLM gateway (key "${g.id}", valid until the stack stops); OpenAI clients read these,`,
    `# Anthropic clients use ${g.url.replace(/\/v1$/, '')} with the same key`,
    `export OPENAI_BASE_URL=${g.url}`,
    `export OPENAI_API_KEY=${g.key}`,
  ].join('\n');
}
