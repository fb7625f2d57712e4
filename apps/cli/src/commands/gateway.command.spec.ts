import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@agency/testing';
import { gateway, gatewayExports } from './gateway.command.js';
import { gatewayLine } from './up.command.js';

const key = { url: 'http://127.0.0.1:7106/v1', id: 'agency', key: 'agk_0123456789abcdef' };

describe('agency gateway', () => {
  it('prints exports an OpenAI client reads', () => {
    const text = gatewayExports(key);
    expect(text).toContain('export OPENAI_BASE_URL=http://127.0.0.1:7106/v1\nexport OPENAI_API_KEY=agk_0123456789abcdef');
    expect(text).toContain('Anthropic clients use http://127.0.0.1:7106 with the same key');
  });

  it("reads the running stack's key file, and says when no stack runs", () => {
    const dir = tempDir('gateway-cmd-');
    try {
      const file = join(dir.path, 'gateway-key.json');
      writeFileSync(file, JSON.stringify(key));
      const printed: string[] = [];
      const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
      expect(gateway({ key: true }, { natsUrl: '', services: {}, gateway: { url: key.url, keyFile: file } })).toBe(0);
      log.mockRestore();
      expect(printed).toEqual(['agk_0123456789abcdef']);
      expect(() => gateway({}, undefined)).toThrow(/no local agency is running here/);
    } finally {
      dir.remove();
    }
  });

  it('agency up names where the gateway is, how to get its key and which of your keys it takes, never a secret', () => {
    const stack = { url: () => 'http://127.0.0.1:7106' };
    expect(gatewayLine(stack, undefined, '')).toBe('gateway    http://127.0.0.1:7106/v1  (OpenAI-compatible; its key: npm run agency -- gateway)');
    const line = gatewayLine(stack, 'me:0123456789abcdef0,ci:fedcba98765432100', 'AGENCY_RUN_DIR=/tmp/r ');
    expect(line).toBe(
      'gateway    http://127.0.0.1:7106/v1  (OpenAI-compatible; its key: AGENCY_RUN_DIR=/tmp/r npm run agency -- gateway; your GATEWAY_API_KEYS work too: me, ci)',
    );
  });
});
