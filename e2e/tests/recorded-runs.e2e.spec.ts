import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { parse, parseDocument } from 'yaml';
import { randomFreePortBase } from '@agency/stack';
import { tempDir, type TempDir } from '@agency/testing';

// Recorded real-model runs, replayed (issue 11). Each directory under e2e/recordings holds one FR
// run recorded through the gateway's record provider (a model answering through the relay, or a
// vendor): repo.bundle (the repository at the base, branch main), vault/ (the FR as planned, the
// agents, 40_config/agency.yaml whose provider is {type: replay, match: conversation} and the
// cassette), expect.json and hidden/. The test builds a local forge from the bundle, runs
// `agency up --once` on a copy of the vault under SANDBOX=docker (the repository's setup installs
// its dev dependencies from the package registry; nothing else leaves the machine), and checks that
// the FR ends in the recorded state with a PR branch whose tree is byte for byte the recorded one,
// and that no request missed the cassette (a run that takes another path fails with
// cassette_no_match). Skipped only when no Docker engine answers.

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'apps', 'cli', 'src', 'main.js');
const recordingsDir = join(root, 'e2e', 'recordings');
/** A replay answers at once; what takes time is the repository's setup and tests in the sandbox. */
const RUN_SECONDS = 300;
/** The host's bundle (public roots and a TLS-intercepting proxy's CA) for setups behind such a proxy. */
const HOST_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

interface Expectation {
  fr: string;
  state: string;
  tree: string;
  hiddenTests?: { files: string; command: string };
}

const recordings = existsSync(recordingsDir)
  ? readdirSync(recordingsDir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(recordingsDir, e.name, 'expect.json')))
      .map((e) => e.name)
      .sort()
  : [];

const engine = await new Docker().ping().then(
  () => true,
  () => false,
);
if (!engine) console.warn('recorded-runs e2e: SKIPPED, no Docker engine answers; start one with scripts/docker/ensure-engine.sh');

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

function frontMatter(text: string): Record<string, unknown> {
  const m = /^---\n([\s\S]*?)\n---/.exec(text);
  return m ? ((parse(m[1]!) as Record<string, unknown> | null) ?? {}) : {};
}

/** The planned FR file of the recording. */
function plannedFr(vault: string, frId: string): string {
  const planned = join(vault, '10_features', '03_planned');
  const file = readdirSync(planned).find((f) => f.startsWith(`${frId}-`) && f.endsWith('.md'));
  if (!file) throw new Error(`no ${frId}-*.md in ${planned}`);
  return join(planned, file);
}

/**
 * Points the copied vault's forges at this run's forge and returns the FR's repository and base
 * branch. Only a replay (or scripted) provider may remain: a recording must never reach a model.
 */
function prepareConfig(vault: string, forge: string, frId: string): { repo: string; base: string } {
  const file = join(vault, '40_config', 'agency.yaml');
  const doc = parseDocument(readFileSync(file, 'utf8'));
  const config = doc.toJS() as {
    forges?: Record<string, unknown>;
    repos?: Record<string, { base?: string }>;
    defaults?: { repo?: string };
    llm?: { providers?: Record<string, { type?: string }> };
  };
  for (const [name, p] of Object.entries(config.llm?.providers ?? {})) {
    if (p?.type !== 'replay' && p?.type !== 'scripted')
      throw new Error(`llm.providers.${name} is type ${p?.type}: a recording replays ({type: replay, cassette: ..., match: conversation})`);
  }
  for (const name of Object.keys(config.forges ?? {})) doc.setIn(['forges', name, 'root'], forge);
  writeFileSync(file, doc.toString());
  const repos = Object.keys(config.repos ?? {});
  const named = frontMatter(readFileSync(plannedFr(vault, frId), 'utf8')).repo;
  const repo = typeof named === 'string' ? named : (config.defaults?.repo ?? (repos.length === 1 ? repos[0] : undefined));
  if (!repo) throw new Error(`cannot tell ${frId}'s repository: name it in the FR (repo:) or in defaults.repo`);
  return { repo, base: config.repos?.[repo]?.base ?? 'main' };
}

interface Outcome {
  code: number | null;
  output: string;
}

/** `agency up --once` as a user runs it, on ports of its own, with the Docker sandbox. */
async function agencyUp(dir: string, portBase: number): Promise<Outcome> {
  const { NATS_URL: _nats, ...parent } = process.env;
  const env: NodeJS.ProcessEnv = { ...parent, SANDBOX: 'docker' };
  if (!env.SANDBOX_CA_BUNDLE && existsSync(HOST_CA_BUNDLE)) env.SANDBOX_CA_BUNDLE = HOST_CA_BUNDLE;
  const args = [
    cli,
    'up',
    '--once',
    '--fresh',
    '--vault',
    join(dir, 'vault'),
    '--run-dir',
    join(dir, 'run'),
    '--port-base',
    String(portBase),
    '--timeout',
    String(RUN_SECONDS),
  ];
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, output };
}

/** A cassette miss: the gateway's code, or its message as the agents pass it on (LLM_REQUEST_REJECTED). */
const CASSETTE_MISS = /cassette_no_match|the run took a different path than the recording/;

/** Every line of the run's service logs and output that names a cassette miss. */
function cassetteMisses(dir: string, output: string): string[] {
  const logs = join(dir, 'run', 'logs');
  const texts = [output, ...(existsSync(logs) ? readdirSync(logs).map((f) => readFileSync(join(logs, f), 'utf8')) : [])];
  return texts.flatMap((t) => t.split('\n').filter((l) => CASSETTE_MISS.test(l)));
}

describe.skipIf(!engine || recordings.length === 0)('recorded real-model runs, replayed', () => {
  describe.each(recordings)('%s', (name) => {
    const recording = join(recordingsDir, name);
    const expected = JSON.parse(readFileSync(join(recording, 'expect.json'), 'utf8')) as Expectation;
    let dir: TempDir;
    let bare = '';
    let outcome: Outcome = { code: null, output: '' };

    beforeAll(
      async () => {
        if (!existsSync(cli)) throw new Error('the CLI is not built: run `npm run build` (npm test builds first)');
        dir = tempDir(`agency-replay-${name}-`);
        const vault = join(dir.path, 'vault');
        cpSync(join(recording, 'vault'), vault, { recursive: true });
        const forge = join(dir.path, 'forge');
        const { repo, base } = prepareConfig(vault, forge, expected.fr);
        bare = join(forge, `${repo}.git`);
        git(dir.path, 'clone', '-q', '--bare', join(recording, 'repo.bundle'), bare);
        git(bare, 'rev-parse', '--verify', `refs/heads/${base}`);
        outcome = await agencyUp(dir.path, await randomFreePortBase());
      },
      (RUN_SECONDS + 60) * 1000,
    );

    afterAll(() => (process.env.KEEP_REPLAY_DIRS ? undefined : dir?.remove()));

    it(`ends ${expected.fr} in the recorded state, every model request answered from the cassette`, () => {
      const tail = outcome.output.slice(-4000);
      expect(cassetteMisses(dir.path, outcome.output), tail).toEqual([]);
      const state = new RegExp(`^== ${expected.fr} ".*": (\\S+)$`, 'm').exec(outcome.output)?.[1];
      expect(state, tail).toBe(expected.state);
    });

    it('leaves a PR branch whose tree is the recorded one', () => {
      const branches = git(bare, 'for-each-ref', '--format=%(refname)', `refs/heads/agency/${expected.fr}-*`, `refs/heads/agency/${expected.fr}`)
        .split('\n')
        .filter(Boolean);
      expect(branches, outcome.output.slice(-2000)).toHaveLength(1);
      expect(git(bare, 'rev-parse', `${branches[0]}^{tree}`)).toBe(expected.tree);
    });
  });
});
