import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, type TempDir } from '@agency/testing';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'apps', 'cli', 'src', 'main.js');

/**
 * The README's first command, as a user runs it (`npm start` is `agency up`): a local nats-server,
 * the seven services, the bundled example vault and repository, FR-001 out as a pull request,
 * and where to see it printed. `--once` makes it exit when the planned folder is drained.
 */
describe('the quick start: agency up --once on the bundled example', () => {
  let run: TempDir;
  let output = '';
  let code: number | null = null;

  beforeAll(async () => {
    if (!existsSync(cli)) throw new Error('the CLI is not built: run `npm run build` (npm test builds first)');
    run = tempDir('agency-quick-start-');
    const { NATS_URL: _nats, ...env } = process.env;
    const child = spawn(process.execPath, [cli, 'up', '--once', '--run-dir', run.path, '--timeout', '240'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  }, 300_000);

  afterAll(() => run?.remove());

  it('exits 0 once FR-001 is a pull request, having started its own nats-server and the seven services', () => {
    expect(code, output.slice(-3000)).toBe(0);
    expect(output).toMatch(/^starting {3}NATS \(a local nats-server/m);
    for (const s of ['llm-gateway', 'git-service', 'router', 'registry', 'agent-runner', 'reviewer', 'orchestrator']) expect(output).toMatch(new RegExp(`^${s} +http://127\\.0\\.0\\.1:\\d+`, 'm'));
    expect(output).toContain('the planned folder is drained: 1 FR(s), 0 failed or blocked.');
  });

  it('says where to see the PR, its branch, its trace and the FR file, and they are there', () => {
    expect(output).toContain('== FR-001 "Add a farewell function": awaiting-merge');
    expect(output).toMatch(/pull request {3}local:\/\/example\/greeter\/pulls\/1/);
    const traceId = output.match(/trace {10}([0-9a-f]{32})/)?.[1];
    expect(traceId).toBeDefined();
    const record = output.match(/PR record {6}(\S+)/)?.[1];
    expect(JSON.parse(readFileSync(record!, 'utf8'))).toMatchObject({ number: 1, state: 'open', base: 'main' });
    const frFile = output.match(/FR file {8}(\S+)/)?.[1];
    expect(frFile).toBe(join(run.path, 'vault', '10_features', '05_in_review', 'FR-001-farewell.md'));
    expect(readFileSync(frFile!, 'utf8')).toMatch(/^pr: local:\/\/example\/greeter\/pulls\/1$/m);
    // The spans of the FR's trace are in the run's span file.
    expect(readFileSync(join(run.path, 'traces.jsonl'), 'utf8')).toContain(traceId);
  });
});
