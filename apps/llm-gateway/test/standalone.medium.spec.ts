import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { runService, type RunningService } from '@agency/bootstrap';
import { freePort, startNatsServer, tempDir, type NatsServerHandle, type TempDir } from '@agency/testing';
import { LLM_GATEWAY_SERVICE } from '../src/llm-gateway.service.js';
import { TEST_SCRIPT } from './gateway-fixture.js';

const KEY = 'tools-secret-0123456789abc';
const LLM_ONLY = `# The gateway alone, for tools that are not the agency: nothing but the llm section.
llm:
  providers:
    scripted: { type: scripted, script: scripts/llm-script.yaml }
  models:
    planner: [scripted/planner]
  prices:
    scripted/planner: { input_per_mtok: 1, output_per_mtok: 2 }
`;

describe('the gateway without the agency', () => {
  let nats: NatsServerHandle;
  let dir: TempDir;
  const running: RunningService[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    dir = tempDir('llm-standalone-');
    mkdirSync(join(dir.path, 'scripts'));
    writeFileSync(join(dir.path, 'scripts', 'llm-script.yaml'), TEST_SCRIPT);
  });

  afterAll(async () => {
    for (const s of running) await s.close();
    await nats?.dispose();
    dir?.remove();
  });

  async function boot(env: Record<string, string>): Promise<OpenAI> {
    const port = await freePort();
    running.push(
      await runService(LLM_GATEWAY_SERVICE, {
        NATS_URL: nats.url,
        HTTP_PORT: String(port),
        HTTP_HOST: '127.0.0.1',
        GATEWAY_API_KEYS: `tools:${KEY}`,
        LOG_LEVEL: 'fatal',
        ...env,
      }),
    );
    return new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: KEY, maxRetries: 0 });
  }

  it('runs from LLM_CONFIG_FILE holding only an llm section, with no vault', async () => {
    const file = join(dir.path, 'gateway.yaml');
    writeFileSync(file, LLM_ONLY);
    const openai = await boot({ LLM_CONFIG_FILE: file });
    const answer = await openai.chat.completions.create(
      { model: 'planner', messages: [{ role: 'user', content: 'plan' }] },
      { headers: { 'x-agency-fr-id': 'FR-7' } },
    );
    expect(answer.choices[0]!.message.content).toBe('generic plan for FR-7');
  });

  it("reads only the llm section of a vault's agency.yaml: a broken repos section elsewhere does not stop it", async () => {
    const vault = join(dir.path, 'vault');
    mkdirSync(join(vault, '40_config', 'scripts'), { recursive: true });
    writeFileSync(join(vault, '40_config', 'scripts', 'llm-script.yaml'), TEST_SCRIPT);
    writeFileSync(join(vault, '40_config', 'agency.yaml'), `repos: [this is not a mapping]\ntiers: 7\n${LLM_ONLY}`);
    const openai = await boot({ VAULT_PATH: vault });
    expect((await openai.models.list()).data.map((m) => m.id)).toEqual(['planner']);
  });
});
