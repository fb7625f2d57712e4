import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'core.hooksPath=/dev/null', '-c', 'user.name=Test', '-c', 'user.email=test@test', ...args], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LC_ALL: 'C' } }).trim();
}

/** A linter in plain Node: every `var` declaration under src/ is an error, reported as file:line. */
const LINT = `import { readdirSync, readFileSync } from 'node:fs';
let problems = 0;
for (const f of readdirSync('src')) {
  readFileSync('src/' + f, 'utf8').split('\\n').forEach((line, i) => {
    if (/^\\s*var\\s/.test(line)) { console.log('src/' + f + ':' + (i + 1) + '  error  Unexpected var  no-var'); problems += 1; }
  });
}
console.log(problems + ' problem(s)');
process.exit(problems ? 1 : 0);
`;

export interface LintRepo {
  bare: string;
  baseSha: string;
  /** An agent's change on `branch`: its head and its bundle (base..head). */
  change(branch: string, files: Record<string, string>): { headSha: string; bundle: Buffer };
}

/** A bare repository whose `node lint.mjs` fails on `var`, and a way to make agent changes to it. */
export function createLintRepo(root: string): LintRepo {
  const seed = join(root, 'seed');
  mkdirSync(join(seed, 'src'), { recursive: true });
  writeFileSync(join(seed, 'lint.mjs'), LINT);
  writeFileSync(join(seed, 'src', 'greet.js'), 'export const greet = (n) => `Hello, ${n}!`;\n');
  git(root, 'init', '-q', '-b', 'main', seed);
  git(seed, 'add', '-A');
  git(seed, 'commit', '-q', '-m', 'Greeter with a linter');
  const bare = join(root, 'lint-repo.git');
  git(root, 'clone', '-q', '--bare', seed, bare);
  const baseSha = git(bare, 'rev-parse', 'refs/heads/main');
  let n = 0;
  return {
    bare,
    baseSha,
    change(branch, files) {
      n += 1;
      const work = join(root, `agent-${n}`);
      git(root, 'clone', '-q', bare, work);
      git(work, 'checkout', '-q', '-b', branch);
      for (const [file, text] of Object.entries(files)) {
        mkdirSync(dirname(join(work, file)), { recursive: true });
        writeFileSync(join(work, file), text);
      }
      git(work, 'add', '-A');
      git(work, 'commit', '-q', '-m', 'Agent change');
      const file = join(root, `change-${n}.bundle`);
      git(work, 'bundle', 'create', '-q', file, branch, `^${baseSha}`);
      return { headSha: git(work, 'rev-parse', 'HEAD'), bundle: readFileSync(file) };
    },
  };
}
