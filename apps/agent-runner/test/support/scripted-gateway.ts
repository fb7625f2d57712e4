import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ArtifactRefDto } from '@agency/contracts';
import { LocalStack } from '@agency/stack';
import { freePort, tempDir, type TempDir } from '@agency/testing';
import { VAULT_PATH } from './greeter-forge.js';
import type { RunnerHarness } from './runner-harness.js';

const root = join(import.meta.dirname, '..', '..', '..', '..');

/** The tool loop's turns as the gateway's scripted provider replays them: the n-th call of a rule gets its n-th reply. */
export const turn = (...calls: Array<[string, Record<string, unknown>]>) => ({ tool_calls: calls.map(([name, args]) => ({ name, arguments: args })) });

export interface ScriptedGateway {
  vault: TempDir;
  run: TempDir;
  stack: LocalStack;
  /** A one-step plan adding src/farewell.js, in the harness's object store. */
  plan: ArtifactRefDto;
  dispose(): Promise<void>;
}

/**
 * The runner harness started against the real LLM gateway (its own process, on the harness's
 * nats-server) replaying `script` as its scripted provider: the same path as a run with a vendor
 * model, offline and deterministic. `patchVault` may change the copied example vault first.
 */
export async function startScriptedGateway(h: RunnerHarness, script: unknown, name: string, patchVault?: (vaultDir: string) => void): Promise<ScriptedGateway> {
  if (!existsSync(join(root, 'dist', 'apps', 'llm-gateway', 'src', 'main.js')))
    throw new Error('the llm-gateway is not built: run `npm run build` (npm test builds first)');
  const vault = tempDir(`${name}-vault-`);
  const run = tempDir(`${name}-run-`);
  cpSync(VAULT_PATH, vault.path, { recursive: true });
  writeFileSync(join(vault.path, '40_config', 'llm-script.yaml'), JSON.stringify(script, null, 2));
  patchVault?.(vault.path);
  const port = await freePort();
  const stack = new LocalStack({ runDir: run.path, vaultPath: vault.path, rootDir: root, ports: { 'llm-gateway': port }, env: { LOG_LEVEL: 'warn' } });
  await h.start({
    VAULT_PATH: vault.path,
    LLM_GATEWAY_URL: `${stack.url('llm-gateway')}/v1`,
    LLM_GATEWAY_API_KEY: stack.gatewayKey,
    COMMAND_TIMEOUT_SECONDS: '60',
    AGENCY_TRACE_FILE: join(run.path, 'runner-spans.jsonl'),
  });
  // Only the gateway, on the harness's nats-server (LocalStack.start would run all seven).
  stack.natsUrl = h.nats.url;
  mkdirSync(join(run.path, 'logs'), { recursive: true });
  await stack.startService('llm-gateway');
  const plan = await h.artifacts.putJson(`${name}/plan.json`, {
    summary: 'Add farewell()',
    steps: [{ title: 'farewell', files: ['src/farewell.js'], detail: '' }],
    risks: [],
  });
  return {
    vault,
    run,
    stack,
    plan,
    dispose: async () => {
      await stack.stop();
      await h.dispose();
      vault.remove();
      run.remove();
    },
  };
}
