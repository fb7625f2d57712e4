import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadSuite, SuiteError } from './suite.loader.js';

const PATCH = '--- a/src/a.js\n+++ b/src/a.js\n@@ -1 +1 @@\n-a\n+b\n';

describe('loadSuite', () => {
  let dir: string;
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  const task = (name: string, yaml: string) => {
    write(`${name}/task.yaml`, yaml);
    write(`${name}/fr.md`, '---\nid: X-1\n---\n## Problem\n\nDo it.\n');
    write(`${name}/solution.patch`, PATCH);
    write(`${name}/hidden/test/h.test.js`, 'test');
  };
  const problems = (): string[] => {
    try {
      loadSuite(dir);
    } catch (e) {
      if (e instanceof SuiteError) return e.problems;
      throw e;
    }
    return [];
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'eval-suite-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('loads tasks in folder order with defaults, the FR without its front matter', () => {
    write('suite.yaml', 'name: s1\n');
    task('b-task', 'title: B\nrepo: { npm: ms@2.1.3 }\ntest: npm test\nsetup: npm install\nhidden_tests: { command: node --test test/h.test.js }\n');
    task('a-task', 'title: A\nrepo: { path: ., ref: main }\ntest: npm test\nhidden_tests: { command: node --test }\n');
    const suite = loadSuite(dir);
    expect(suite.tasks.map((t) => t.name)).toEqual(['a-task', 'b-task']);
    const b = suite.tasks[1]!;
    expect(b.source).toEqual({ kind: 'npm', spec: 'ms@2.1.3' });
    expect(b.frBody).toBe('## Problem\n\nDo it.');
    expect(b.spec).toMatchObject({ fr: 'fr.md', reference: 'solution.patch', timeout_seconds: 300, setup: 'npm install', hidden_tests: { files: 'hidden' } });
    expect(suite.tasks[0]!.source).toEqual({ kind: 'path', dir: join(dir, 'a-task'), ref: 'main' });
  });

  it('names every problem of every task with its file and field', () => {
    write('suite.yaml', 'name: s1\ntasks: [one, two, three, one]\n');
    task('one', 'title: One\nrepo: { npm: ms@^2.1.0 }\ntest: npm test\nhidden_tests: { command: x }\n');
    task('two', 'title: Two\nrepo: { npm: ms@2.1.3, bundle: r.bundle }\nhidden_tests: {}\ncolour: red\n');
    task('three', 'title: Three\nrepo: { bundle: missing.bundle }\ntest: t\nhidden_tests: { command: x, files: ../up }\n');
    expect(problems()).toEqual([
      'one/task.yaml: repo.npm: must be name@x.y.z (an exact version, e.g. ms@2.1.3)',
      'two/task.yaml: colour: unknown field',
      'two/task.yaml: test: must be longer than or equal to 1 characters',
      'two/task.yaml: test: must be a string',
      'two/task.yaml: hidden_tests.command: must be longer than or equal to 1 characters',
      'two/task.yaml: hidden_tests.command: must be a string',
      'three/task.yaml: hidden_tests.files: must be a path relative to the task folder, without ".."',
      'suite.yaml: tasks: "one" is listed twice',
    ]);
  });

  it('checks the files a task names: repository source, FR, reference diff, hidden tests', () => {
    write('suite.yaml', 'name: s1\n');
    write('t/task.yaml', 'title: T\nrepo: { bundle: repo.bundle }\ntest: t\nhidden_tests: { command: x }\n');
    write('t/solution.patch', 'not a diff\n');
    mkdirSync(join(dir, 't', 'hidden'));
    expect(problems()).toEqual([
      't/task.yaml: repo.bundle: repo.bundle does not exist in the task folder',
      't/task.yaml: fr: fr.md does not exist in the task folder',
      't/solution.patch: not a unified diff (no "--- a/..." or "diff --git" line)',
      't/task.yaml: hidden_tests.files: hidden/ holds no file',
    ]);
  });

  it('refuses a suite without a manifest, a bad name or no task', () => {
    expect(problems()).toEqual(['suite.yaml: missing']);
    write('suite.yaml', 'name: Bad Name\n');
    expect(problems()).toEqual(['suite.yaml: name: must be lower-case letters, digits and "-"']);
    write('suite.yaml', 'name: ok\n');
    expect(problems()).toEqual(['suite.yaml: the suite has no task (no folder with a task.yaml)']);
  });
});
