import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { Messages, type RepoTargetDto } from '@agency/contracts';
import { tempDir, type TempDir } from '@agency/testing';
import { VAULT_PATH } from './support/greeter-forge.js';
import { BRIDGE_HOST, listen, makeNpmRepo, startLocalRegistry, type LocalRegistry } from './support/npm-fixture.js';
import { RunnerHarness } from './support/runner-harness.js';
import { LlmScript, PLAN_ANSWER, tools, turns } from './support/scripts.js';

/** A setup that fetches an HTTPS URL through the registry proxy and fails unless the answer is the expected one. */
const FETCH = (url: string) =>
  `const r = await fetch(${JSON.stringify(url)}); const t = await r.text(); console.log('fetched: ' + t); process.exit(t === 'trusted' ? 0 : 1);`;

/**
 * Setup behind a TLS-intercepting proxy (SANDBOX_CA_BUNDLE): the registry's certificate is issued
 * by a CA only the host trusts. Without the bundle the setup fails its certificate check; with it,
 * the setup container trusts the host's CA and the download works, through the allowlisting proxy.
 */
describe('setup trusts the CA bundle the host trusts', () => {
  const script = new LlmScript();
  let work: TempDir;
  let registry: LocalRegistry;
  let https: Server;
  let port = 0;
  let repo: RepoTargetDto;
  let vault = '';
  let bundle = '';

  beforeAll(async () => {
    work = tempDir('setup-trust-');
    const d = work.path;
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: d, stdio: 'pipe' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=agency test interception CA');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${BRIDGE_HOST}`);
    writeFileSync(join(d, 'san.ext'), `subjectAltName=IP:${BRIDGE_HOST}\n`);
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
    // The host's whole bundle and the proxy's CA, as SANDBOX_CA_BUNDLE is documented to be.
    bundle = join(d, 'bundle.pem');
    writeFileSync(bundle, `${readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8')}\n${readFileSync(join(d, 'ca.pem'), 'utf8')}`);
    https = createServer({ key: readFileSync(join(d, 'server.key')), cert: readFileSync(join(d, 'server.pem')) }, (_req, res) => res.end('trusted'));
    port = await listen(https as unknown as import('node:http').Server);

    registry = await startLocalRegistry(d);
    const npm = makeNpmRepo(d, 'trust-app', registry, { 'fetch.mjs': FETCH(`https://${BRIDGE_HOST}:${port}/`) });
    vault = join(d, 'vault');
    cpSync(VAULT_PATH, vault, { recursive: true });
    const file = join(vault, '40_config', 'agency.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        'repos:\n',
        `repos:\n  example/trust:\n    forge: local\n    setup: node fetch.mjs\n    test: npm test\n    registries: ["${BRIDGE_HOST}:${port}"]\n`,
      ),
    );
    repo = { name: 'example/trust', cloneUrl: npm.cloneUrl, base: 'main', forge: 'local', setupCommand: 'node fetch.mjs', testCommand: 'npm test' };
  });

  afterAll(async () => {
    await registry?.close();
    https?.close();
    work?.remove();
  });

  async function code(h: RunnerHarness, sagaId: string) {
    h.llm.respond = script.respond;
    script.on(sagaId, 'coder', turns([tools(['write_file', { path: 'NOTES.md', content: 'x\n' }]), tools(['finish', { summary: 'Noted.' }])]));
    const ids = { frId: 'FR-061', sagaId, jobId: `job-${sagaId}`, step: 'code-r1', attempt: 1 };
    const plan = await h.artifacts.putJson(`FR-061/${sagaId}/plan.json`, JSON.parse(PLAN_ANSWER) as unknown);
    await h.send(Messages.Code, { ...ids, payload: { fr: h.fr('FR-061', 'Trust'), repo, strategy: h.strategy(), plan, round: 1, findings: [] } });
  }

  it('fails the certificate check without the bundle, and downloads with it', { timeout: 300_000 }, async () => {
    const without = new RunnerHarness();
    await without.start({ VAULT_PATH: vault, SANDBOX_POOL_SIZE: '0', SETUP_TIMEOUT_SECONDS: '120' });
    try {
      await code(without, 'no-bundle');
      const failed = (await without.answer(Messages.AgentStepFailed, 'no-bundle', 'code-r1', 1, 200_000)).payload;
      expect(failed.code).toBe('ENV_SETUP_FAILED');
      expect(failed.reason).toMatch(/certificate|SELF_SIGNED|UNABLE_TO_VERIFY|fetch failed/i);
    } finally {
      await without.dispose();
    }

    const withBundle = new RunnerHarness();
    await withBundle.start({ VAULT_PATH: vault, SANDBOX_POOL_SIZE: '0', SETUP_TIMEOUT_SECONDS: '120', SANDBOX_CA_BUNDLE: bundle });
    try {
      await code(withBundle, 'bundle');
      const coded = (await withBundle.answer(Messages.Coded, 'bundle', 'code-r1', 1, 200_000)).payload;
      expect(coded.filesChanged).toEqual(['NOTES.md']);
    } finally {
      await withBundle.dispose();
    }
  });
});
