import { GitCommandError } from '@agency/git';
import { INSTRUCTION_LIMITS, instructionsOf, RepoInstructionsReader } from './repo-instructions.reader.js';

const SHA = 'a'.repeat(40);

/** A commit's files as git would show them: regular files and links (mode 120000, the target as content). */
type Entry = { content: string; link?: boolean };

/** Answers `ls-tree` and `show <sha>:<path>` from a fixed tree, keeping to runCapped's byte cap; records what was read. */
function fakeGit(files: Record<string, Entry>) {
  const shown: Array<{ path: string; maxBytes: number }> = [];
  return {
    shown,
    async attempt(_dir: string, args: readonly string[]) {
      const paths = args.slice(args.indexOf('--') + 1);
      const stdout = paths
        .filter((p) => files[p])
        .map((p) => `${files[p]!.link ? '120000' : '100644'} blob ${'b'.repeat(40)}\t${p}\0`)
        .join('');
      return { ok: true as const, stdout };
    },
    async runCapped(_dir: string, args: readonly string[], maxBytes: number) {
      const path = args[1]!.slice(SHA.length + 1);
      const file = files[path];
      if (!file) throw new GitCommandError(args, `path '${path}' does not exist in '${SHA}'`, 128);
      shown.push({ path, maxBytes });
      const bytes = Buffer.from(file.content);
      return { stdout: bytes.subarray(0, maxBytes).toString('utf8'), truncated: bytes.length > maxBytes };
    },
  };
}

const treeOf = (files: Record<string, Entry>) => Object.entries(files).map(([path, f]) => ({ path, size: Buffer.byteLength(f.content) }));

async function read(files: Record<string, Entry>) {
  const git = fakeGit(files);
  const instructions = await new RepoInstructionsReader(git).read('/m.git', SHA, treeOf(files));
  return { instructions, git };
}

describe('RepoInstructionsReader', () => {
  it("reads AGENTS.md and the other agents' files, in the order agents look for them", async () => {
    const { instructions } = await read({
      '.github/copilot-instructions.md': { content: 'Use tabs.\n' },
      'AGENTS.md': { content: '# Agents\n\nRun `npm test`.\n' },
      'README.md': { content: 'not an instruction file' },
    });
    expect(instructions).toEqual([
      { path: 'AGENTS.md', content: '# Agents\n\nRun `npm test`.' },
      { path: '.github/copilot-instructions.md', content: 'Use tabs.' },
    ]);
  });

  it('reads nothing when the repository has none, and skips empty and binary files', async () => {
    expect((await read({ 'README.md': { content: 'x' } })).instructions).toEqual([]);
    expect((await read({ 'AGENTS.md': { content: '  \n' }, 'CLAUDE.md': { content: 'a\0b' } })).instructions).toEqual([]);
  });

  it('reads a huge file only as far as the prompt can show it, and says how much is left out', async () => {
    const huge = 'Always run the linter.\n'.repeat(200_000);
    const { instructions, git } = await read({ 'AGENTS.md': { content: huge } });
    expect(git.shown).toEqual([{ path: 'AGENTS.md', maxBytes: INSTRUCTION_LIMITS.fileChars * 4 }]);
    const content = instructions[0]!.content;
    expect(content.length).toBeLessThan(INSTRUCTION_LIMITS.fileChars + 100);
    expect(content).toMatch(/\[\.\.\. the rest of AGENTS\.md not shown \(4600000 bytes in all\) \.\.\.\]$/);
  });

  it('keeps to the total budget over several files', async () => {
    const big = 'x'.repeat(20_000);
    const { instructions } = await read({ 'AGENTS.md': { content: big }, 'CLAUDE.md': { content: big }, 'GEMINI.md': { content: big } });
    expect(instructions.map((i) => i.path)).toEqual(['AGENTS.md', 'CLAUDE.md']);
    expect(instructions.reduce((n, i) => n + i.content.length, 0)).toBeLessThanOrEqual(INSTRUCTION_LIMITS.totalChars + 200);
  });

  it('follows a link to another file of the commit, and shows a file linked under two names once', async () => {
    const { instructions } = await read({
      'AGENTS.md': { content: 'Run `make check`.' },
      'CLAUDE.md': { content: 'AGENTS.md', link: true },
      '.github/copilot-instructions.md': { content: '../docs/agents.md', link: true },
      'docs/agents.md': { content: 'Keep functions short.' },
    });
    expect(instructions).toEqual([
      { path: 'AGENTS.md', content: 'Run `make check`.' },
      { path: '.github/copilot-instructions.md', content: 'Keep functions short.' },
    ]);
  });

  it('does not follow a link out of the repository, to a missing file, or to another link', async () => {
    const { instructions, git } = await read({
      'AGENTS.md': { content: '/etc/passwd', link: true },
      'AGENT.md': { content: '../../../home/runner/.ssh/id_rsa', link: true },
      'CLAUDE.md': { content: 'docs/missing.md', link: true },
      'GEMINI.md': { content: 'CLAUDE.md', link: true },
    });
    expect(instructions).toEqual([]);
    // Only the links themselves were read (their targets are paths), never a file they name.
    expect(git.shown.map((s) => s.path)).toEqual(['AGENTS.md', 'AGENT.md', 'CLAUDE.md', 'GEMINI.md']);
  });
});

describe('instructionsOf', () => {
  it('takes the well-formed instructions of a plan artifact, none from an older plan', () => {
    expect(instructionsOf({ instructions: [{ path: 'AGENTS.md', content: 'x' }, { path: 3 }] })).toEqual([{ path: 'AGENTS.md', content: 'x' }]);
    expect(instructionsOf({ summary: 'old plan' })).toEqual([]);
    expect(instructionsOf(null)).toEqual([]);
  });
});
