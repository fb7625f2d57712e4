import { copyFileSync, chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SandboxMount } from '../sandbox/sandbox.js';

/** Where the setup container sees the CA bundle. */
export const CA_TARGET = '/etc/agency/ca-bundle.pem';

/**
 * The variables that make the usual package managers trust the bundle: Node (npm, yarn, pnpm)
 * adds it to its own roots; OpenSSL-based tools (pip, git, cargo, curl) take it as their roots,
 * which is why SANDBOX_CA_BUNDLE must be a whole bundle (public roots and the proxy's own CA).
 */
export const CA_ENV: Readonly<Record<string, string>> = {
  NODE_EXTRA_CA_CERTS: CA_TARGET,
  SSL_CERT_FILE: CA_TARGET,
  REQUESTS_CA_BUNDLE: CA_TARGET,
  PIP_CERT: CA_TARGET,
  GIT_SSL_CAINFO: CA_TARGET,
  CARGO_HTTP_CAINFO: CA_TARGET,
  CURL_CA_BUNDLE: CA_TARGET,
};

export interface SetupTrust {
  mount: SandboxMount;
  env: Readonly<Record<string, string>>;
}

/**
 * A network where a TLS-intercepting proxy sits between the machine and the registries (common in
 * companies, and on this project's own machines) makes every download of a setup fail
 * certificate checks, since a sandbox trusts only its image's roots. SANDBOX_CA_BUNDLE names the
 * bundle the host trusts; it is copied into WORK_DIR (read-only, so the engine can mount it under
 * the runner's own path mapping) and mounted read-only into setup containers only: the agent phase
 * has no network and needs no trust.
 */
export function prepareSetupTrust(bundle: string | undefined, workDir: string): SetupTrust | undefined {
  if (!bundle) return undefined;
  const text = readFileSync(bundle, 'utf8');
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`SANDBOX_CA_BUNDLE ${bundle} holds no PEM certificate`);
  const dir = join(resolve(workDir), 'env');
  mkdirSync(dir, { recursive: true });
  const copy = join(dir, 'ca-bundle.pem');
  chmodSync(dir, 0o755);
  try {
    chmodSync(copy, 0o644);
  } catch {
    // first copy
  }
  copyFileSync(bundle, copy);
  chmodSync(copy, 0o444);
  return { mount: { hostPath: copy, target: CA_TARGET, readOnly: true }, env: CA_ENV };
}
