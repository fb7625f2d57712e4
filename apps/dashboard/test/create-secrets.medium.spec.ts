import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, type TempDir } from '@agency/testing';

// deploy/k8s/create-secrets.sh against a stand-in for the cluster: `kubectl` here is a script
// that keeps secrets as JSON files and logs rollouts, and hands `create secret --dry-run=client`
// to the real kubectl (which needs no cluster for it), so the script's own kubectl calls run as written.
const root = join(import.meta.dirname, '..', '..', '..');
const script = join(root, 'deploy', 'k8s', 'create-secrets.sh');
const realKubectl = execFileSync('bash', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim();

const FAKE = `#!${process.execPath}
const { readFileSync, writeFileSync, existsSync, appendFileSync } = require('node:fs');
const { execFileSync } = require('node:child_process');
const dir = process.env.FAKE_CLUSTER;
let args = process.argv.slice(2);
if (args[0] === '-n') args = args.slice(2);
const file = (name) => dir + '/secret-' + name + '.json';
if (args[0] === 'get' && args[1] === 'namespace') process.exit(0);
if (args[0] === 'get' && args[1] === 'secret') {
  if (!existsSync(file(args[2]))) process.exit(1);
  const key = /index \\.data "([^"]+)"/.exec(args[args.indexOf('-o') + 1] ?? '')[1];
  const data = JSON.parse(readFileSync(file(args[2]), 'utf8')).data ?? {};
  if (data[key] === undefined) process.exit(1);
  process.stdout.write(data[key]);
  process.exit(0);
}
if (args[0] === 'create' && args[1] === 'secret') {
  process.stdout.write(execFileSync(process.env.REAL_KUBECTL, args.map((a) => (a === 'yaml' ? 'json' : a))));
  process.exit(0);
}
if (args[0] === 'apply') {
  const obj = JSON.parse(readFileSync(0, 'utf8'));
  writeFileSync(file(obj.metadata.name), JSON.stringify(obj));
  process.exit(0);
}
if (args[0] === 'rollout') {
  appendFileSync(dir + '/rollouts.log', args.join(' ') + '\\n');
  process.exit(0);
}
process.stderr.write('fake kubectl: unexpected ' + args.join(' ') + '\\n');
process.exit(3);
`;

describe('deploy/k8s/create-secrets.sh (a stand-in cluster, the real kubectl for rendering)', () => {
  let dir: TempDir;

  const run = (env: Record<string, string>, ...args: string[]) =>
    execFileSync('bash', [script, ...args], {
      encoding: 'utf8',
      env: { PATH: `${dir.path}/bin:${process.env.PATH}`, HOME: dir.path, FAKE_CLUSTER: dir.path, REAL_KUBECTL: realKubectl, ...env },
    });
  const secret = (name: string, key: string) => {
    const data = (JSON.parse(readFileSync(join(dir.path, `secret-${name}.json`), 'utf8')) as { data?: Record<string, string> }).data ?? {};
    return data[key] === undefined ? undefined : Buffer.from(data[key], 'base64').toString('utf8');
  };

  beforeEach(() => {
    dir = tempDir('create-secrets-');
    execFileSync('mkdir', ['-p', join(dir.path, 'bin')]);
    writeFileSync(join(dir.path, 'bin', 'kubectl'), FAKE);
    chmodSync(join(dir.path, 'bin', 'kubectl'), 0o755);
  });

  afterEach(() => dir.remove());

  it('keeps other tools’ gateway keys, the tokens and every generated value when run again without them, and prints no value', () => {
    const out1 = run({ GITHUB_TOKEN: 'ghp_first-token-value', GATEWAY_EXTRA_KEYS: 'laptop:lk_0123456789,ci:ck_abcdef' });
    const keys1 = secret('agency-llm-gateway', 'GATEWAY_API_KEYS')!;
    expect(keys1).toMatch(/^agency:agk_[0-9a-f]{64},laptop:lk_0123456789,ci:ck_abcdef$/);
    const mirror = secret('agency-git-mirror', 'GIT_MIRROR_TOKEN')!;
    expect(mirror).toMatch(/^gmt_[0-9a-f]{64}$/);

    const out2 = run({});
    expect(secret('agency-llm-gateway', 'GATEWAY_API_KEYS')).toBe(keys1);
    expect(secret('agency-github', 'GITHUB_TOKEN')).toBe('ghp_first-token-value');
    expect(secret('agency-git-mirror', 'GIT_MIRROR_TOKEN')).toBe(mirror);
    for (const out of [out1, out2]) expect(out).not.toMatch(/lk_0123456789|ghp_first|agk_|gmt_|natspw_/);
    expect(existsSync(join(dir.path, 'rollouts.log'))).toBe(false);

    // A GitHub App's key from its .pem file, kept byte for byte (and kept on later runs).
    const pem = join(dir.path, 'app.pem');
    writeFileSync(pem, '-----BEGIN RSA PRIVATE KEY-----\nMIIEfake\n-----END RSA PRIVATE KEY-----\n');
    run({ GITHUB_APP_ID: '4242', GITHUB_APP_INSTALLATION_ID: '77', GITHUB_APP_PRIVATE_KEY_FILE: pem });
    run({});
    expect([
      secret('agency-github', 'GITHUB_APP_ID'),
      secret('agency-github', 'GITHUB_APP_INSTALLATION_ID'),
      secret('agency-github', 'GITHUB_APP_PRIVATE_KEY'),
    ]).toEqual(['4242', '77', readFileSync(pem, 'utf8')]);

    // An empty GATEWAY_EXTRA_KEYS removes the other tools' keys; the agency's own stays.
    run({ GATEWAY_EXTRA_KEYS: '' });
    expect(secret('agency-llm-gateway', 'GATEWAY_API_KEYS')).toBe(keys1.split(',')[0]);
  });

  it('--rotate makes new generated values, keeps other tools’ keys, and restarts NATS first, then everything holding a key, the router included', () => {
    run({ GATEWAY_EXTRA_KEYS: 'laptop:lk_0123456789' });
    const before = {
      agency: secret('agency-gateway-client', 'LLM_GATEWAY_API_KEY'),
      mirror: secret('agency-git-mirror', 'GIT_MIRROR_TOKEN'),
      nats: secret('agency-nats', 'NATS_PASSWORD_ROUTER'),
    };
    run({}, '--rotate');
    expect(secret('agency-gateway-client', 'LLM_GATEWAY_API_KEY')).not.toBe(before.agency);
    expect(secret('agency-git-mirror', 'GIT_MIRROR_TOKEN')).not.toBe(before.mirror);
    expect(secret('agency-nats', 'NATS_PASSWORD_ROUTER')).not.toBe(before.nats);
    expect(secret('agency-llm-gateway', 'GATEWAY_API_KEYS')).toBe(`agency:${secret('agency-gateway-client', 'LLM_GATEWAY_API_KEY')},laptop:lk_0123456789`);
    const rollouts = readFileSync(join(dir.path, 'rollouts.log'), 'utf8').trim().split('\n');
    expect(rollouts[0]).toBe('rollout restart statefulset/nats');
    const restarted = rollouts
      .filter((l) => l.startsWith('rollout restart'))
      .slice(1)
      .join(' ');
    for (const w of [
      'deployment/router',
      'statefulset/llm-gateway',
      'deployment/git-service',
      'statefulset/agent-runner',
      'deployment/reviewer',
      'deployment/grafana',
    ])
      expect(restarted).toContain(w);
  });
});
