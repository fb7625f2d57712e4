import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalStack, seedBareRepo, seedVault, STACK_SERVICES, type StackService } from '@agency/stack';
import { freePort, startNatsServer, tempDir, type NatsServerHandle, type TempDir } from '@agency/testing';

/** A PR as the local forge's HTTP API shows it (the fields the tests read). */
export interface PullRecord {
  number: number;
  branch: string;
  base: string;
  headSha: string;
  state: string;
  draft: boolean;
  labels: string[];
  body: string;
  pushes: Array<{ headSha: string }>;
  comments?: Array<{ body: string }>;
  frId: string;
  sagaId: string;
  jobId: string | null;
}

export const ROOT = join(import.meta.dirname, '..', '..', '..');

/**
 * The seven services as processes on a nats-server of their own, over a copy of the example
 * vault whose scripted model follows `script`, with the greeter repository on a local forge.
 */
export class ScriptedStack {
  private constructor(
    readonly dir: TempDir,
    readonly nats: NatsServerHandle,
    readonly stack: LocalStack,
    readonly vault: string,
    readonly forge: string,
  ) {}

  static async start(prefix: string, script: string, env: Record<string, string> = {}): Promise<ScriptedStack> {
    const dir = tempDir(prefix);
    const vault = join(dir.path, 'vault');
    const forge = join(dir.path, 'forge');
    seedVault(join(ROOT, 'examples', 'vault'), vault);
    const config = join(vault, '40_config', 'agency.yaml');
    writeFileSync(config, readFileSync(config, 'utf8').replace('root: ../../forge', `root: ${forge}`));
    writeFileSync(join(vault, '40_config', 'llm-script.yaml'), script);
    seedBareRepo(forge, 'example/greeter', join(ROOT, 'examples', 'repos', 'greeter'));
    const nats = await startNatsServer();
    const ports = Object.fromEntries(await Promise.all(STACK_SERVICES.map(async (s) => [s, await freePort()]))) as Record<StackService, number>;
    const stack = new LocalStack({
      runDir: join(dir.path, 'run'),
      vaultPath: vault,
      rootDir: ROOT,
      natsUrl: nats.url,
      ports,
      env: { LOG_LEVEL: 'info', SCAN_INTERVAL_MS: '1000', ...env },
    });
    const started = new ScriptedStack(dir, nats, stack, vault, forge);
    try {
      await stack.start();
    } catch (e) {
      await started.stop();
      throw e;
    }
    return started;
  }

  /** The bare repository of the greeter on the forge. */
  get bare(): string {
    return join(this.forge, 'example', 'greeter.git');
  }

  url(service: StackService): string {
    return this.stack.url(service);
  }

  async stop(): Promise<void> {
    await this.stack.stop();
    await this.nats.dispose();
    if (process.env.KEEP_E2E_DIR) console.log(`e2e state kept in ${this.dir.path}`);
    else this.dir.remove();
  }
}
