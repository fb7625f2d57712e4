import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RepoTargetDto } from '@agency/contracts';
import type { ArtifactStore } from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import { tempDir, type TempDir } from '@agency/testing';
import type { AgentRunnerConfig } from '../src/agent-runner.config.js';
import { GitClient } from '../src/git/git.client.js';
import { JobRecordRepository } from '../src/git/job-record.repository.js';
import { KeyedMutex } from '../src/git/keyed-mutex.js';
import { WorkspaceService } from '../src/git/workspace.service.js';
import { git, makeGreeterForge, type GreeterForge } from './support/greeter-forge.js';
import { TokenGitServer } from './support/token-git-server.js';

const TOKEN = 'mirror-token-for-runner-tests-0123456789';

function filesContaining(dir: string, text: string): string[] {
  const hits: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p, { throwIfNoEntry: false });
    if (s?.isDirectory()) hits.push(...filesContaining(p, text));
    else if (s?.isFile() && readFileSync(p).includes(text)) hits.push(p);
  }
  return hits;
}

describe('a GitHub repository is read through git-service (GIT_MIRROR_URL) with the service credential, never from GitHub', () => {
  let forge: GreeterForge;
  let server: TokenGitServer;
  let work: TempDir;
  // The clone URL is unreachable: only git-service's server can have given the runner anything.
  const repo: RepoTargetDto = {
    name: 'example/greeter',
    cloneUrl: 'https://github.invalid/example/greeter.git',
    base: 'main',
    forge: 'github',
    testCommand: 'node --test',
  };

  function workspaces(token: string): WorkspaceService {
    const config = { WORK_DIR: work.path, GIT_TIMEOUT_SECONDS: 60, GIT_MIRROR_URL: server.url, GIT_MIRROR_TOKEN: token } as AgentRunnerConfig;
    const artifacts = { get: () => Promise.reject(new Error('no artifacts in this test')) } as unknown as ArtifactStore;
    return new WorkspaceService(
      config,
      new GitClient(config),
      new KeyedMutex(),
      new JobRecordRepository(config),
      artifacts,
      createLogger({ service: 'test', level: 'silent' }),
    );
  }

  beforeAll(async () => {
    forge = makeGreeterForge();
    server = await TokenGitServer.start(dirname(dirname(forge.cloneUrl)), TOKEN);
  });

  beforeEach(() => {
    work = tempDir('mirror-source-');
  });

  afterEach(() => work.remove());

  afterAll(async () => {
    await server.stop();
    forge.root.remove();
  });

  it('opens a job worktree from git-service, sends the credential on every request, and keeps it out of every file', async () => {
    const ws = await workspaces(TOKEN).openFresh('job-1', repo, 'agency/FR-001-greet');
    expect(ws.baseSha).toBe(forge.baseSha);
    expect(readFileSync(join(ws.dir, 'src/greet.js'), 'utf8')).toContain('Hello');
    expect(git(ws.mirrorDir, 'remote', 'get-url', 'origin')).toBe(`${server.url}/example/greeter.git`);
    expect(server.requests.length).toBeGreaterThan(0);
    expect(server.requests.every((r) => r.authorized)).toBe(true);
    expect(filesContaining(work.path, TOKEN)).toEqual([]);
  });

  it('a wrong credential fails the fetch with an error that does not carry it', async () => {
    const wrong = 'not-the-mirror-token-0123456789abcdef';
    const failure = await workspaces(wrong)
      .openFresh('job-2', repo, 'agency/FR-002-greet')
      .then(
        () => undefined,
        (e: Error) => e.message,
      );
    expect(failure).toBeDefined();
    expect(failure).not.toContain(wrong);
    expect(failure).toMatch(/401|Authentication failed|could not read Username/);
  });

  it('a mirror cloned from GitHub before is pointed at git-service on its next fetch', async () => {
    const service = workspaces(TOKEN);
    const direct = { ...repo, cloneUrl: forge.cloneUrl, forge: 'local' as const };
    const first = await service.openFresh('job-3', direct, 'agency/FR-003-greet');
    expect(git(first.mirrorDir, 'remote', 'get-url', 'origin')).toBe(forge.cloneUrl);
    const again = await service.openFresh('job-4', { ...direct, forge: 'github' }, 'agency/FR-004-greet');
    expect(again.mirrorDir).toBe(first.mirrorDir);
    expect(git(again.mirrorDir, 'remote', 'get-url', 'origin')).toBe(`${server.url}/example/greeter.git`);
  });
});
