import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir, type TempDir } from '@agency/testing';
import { FakeGitHub } from './fake-github.server.js';
import { git } from './forge-fixture.js';

export const GH_REPO = 'octo/greeter';
/** Looks like a fine-grained token, so a leak would also be caught by pattern. */
export const GH_TOKEN = `github_pat_11AGENCY0${'T0kenValue'.repeat(6)}`;

export interface GitHubFixture {
  dir: TempDir;
  github: FakeGitHub;
  vaultPath: string;
  workDir: string;
  baseSha: string;
  /** Every file under the temp folder (mirrors, vault, work dir) whose bytes contain `text`. */
  filesContaining(text: string): string[];
  stop(): Promise<void>;
}

/** A fake GitHub with octo/greeter (private), and a vault whose agency.yaml puts that repository on the github forge. */
export async function createGitHubFixture(): Promise<GitHubFixture> {
  const dir = tempDir('git-service-github-');
  const github = await FakeGitHub.start(join(dir.path, 'github'), GH_TOKEN);
  const baseSha = github.createRepo(GH_REPO, {
    'package.json': '{ "name": "greeter", "type": "module", "scripts": { "test": "node --test" } }\n',
    'src/greet.js': 'export function greet(name) {\n  return `Hello, ${name}!`;\n}\n',
  });
  const vaultPath = join(dir.path, 'vault');
  const workDir = join(dir.path, 'work');
  mkdirSync(join(vaultPath, '40_config'), { recursive: true });
  writeFileSync(
    join(vaultPath, '40_config', 'agency.yaml'),
    [
      'forges:',
      '  github:',
      `    api_url: ${github.apiUrl}`,
      'repos:',
      `  ${GH_REPO}:`,
      '    forge: github',
      `    url: ${github.gitUrl(GH_REPO)}`,
      '    base: main',
      '    test: npm test',
      'tiers:',
      '  - name: small',
      '    max_score: 100',
      '    models: { planner: planner, coder: coder, reviewer: reviewer }',
      '',
    ].join('\n'),
  );
  const filesContaining = (text: string): string[] => {
    const hits: string[] = [];
    const walk = (d: string) => {
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        const s = statSync(p, { throwIfNoEntry: false });
        if (s?.isDirectory()) walk(p);
        else if (s?.isFile() && readFileSync(p).includes(text)) hits.push(p);
      }
    };
    walk(dir.path);
    return hits;
  };
  return { dir, github, vaultPath, workDir, baseSha, filesContaining, stop: async () => (await github.stop(), dir.remove()) };
}

/** An agent's clone of the fake's repository (straight from its folder, as agent-runner's mirror would have it), committing on an agency branch. */
export class GitHubAgentClone {
  readonly path: string;

  constructor(
    private readonly fx: GitHubFixture,
    name: string,
    readonly branch: string,
  ) {
    this.path = join(fx.dir.path, name);
    git(fx.dir.path, 'clone', '-q', fx.github.bare(GH_REPO), this.path);
    git(this.path, 'checkout', '-q', '-b', branch, fx.baseSha);
  }

  commit(files: Record<string, string>, message: string): string {
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(dirname(join(this.path, file)), { recursive: true });
      writeFileSync(join(this.path, file), text);
    }
    git(this.path, 'add', '-A');
    git(this.path, 'commit', '-q', '-m', message);
    return git(this.path, 'rev-parse', 'HEAD');
  }

  bundle(): Buffer {
    const file = join(this.fx.dir.path, `${this.branch.replaceAll('/', '_')}-${Date.now()}.bundle`);
    execFileSync('git', ['bundle', 'create', '-q', file, this.branch, `^${this.fx.baseSha}`], { cwd: this.path });
    return readFileSync(file);
  }
}
