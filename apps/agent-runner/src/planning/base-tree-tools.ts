import { TOOL_LIMITS } from '../coding/tools/coder-tools.js';
import { aliasedCall, withAliasNote } from '../coding/tools/tool-aliases.js';
import { ToolArgumentError } from '../coding/tools/tool-args.js';
import type { ToolName } from '../coding/tools/tool-schemas.js';
import { didYouMean, inToolSpan, intArg, rangeInPath, readFileView, readToolArgs, stringArg, type ToolOutcome } from '../coding/tools/tool-text.js';
import { checkRelativePath, UnsafePathError } from '../files/path-guard.js';
import { GitCommandError, type GitClient } from '../git/git.client.js';
import type { TreeFile } from '../git/workspace.service.js';
import { reachedPerFileCap, SEARCH_PER_FILE } from '../git/worktree-git.js';

/** The tools a planner may use: reading only. */
export const PLANNER_TOOL_NAMES = ['list_files', 'read_file', 'search'] as const satisfies readonly ToolName[];
type PlannerToolName = (typeof PLANNER_TOOL_NAMES)[number];

/** The planner's tools among those its vault file lists (others, which change files, are not offered). */
export function plannerTools(allowed: readonly string[]): PlannerToolName[] {
  return PLANNER_TOOL_NAMES.filter((n) => allowed.includes(n));
}

/**
 * Read-only tools over one commit of the runner's mirror, for the planner: it plans before any
 * worktree or sandbox exists, so list_files, read_file and search answer from git's objects
 * (`ls-tree`, `show`, `grep <sha>`), exactly as the coder's do from its worktree. Nothing here
 * writes, and the mirror is the runner's own (never a sandbox's), so no path the model names can
 * lead outside the commit.
 */
export class BaseTreeTools {
  private readonly paths: Set<string>;

  constructor(
    private readonly git: Pick<GitClient, 'runCapped'>,
    private readonly mirrorDir: string,
    private readonly sha: string,
    private readonly files: readonly TreeFile[],
    private readonly allowed: ReadonlySet<string>,
  ) {
    this.paths = new Set(files.map((f) => f.path));
  }

  /** One tool call, in its `execute_tool <tool>` span; a reading tool called by another family's name (`cat`) runs as the tool it stands for. */
  async run(name: string, rawArgs: string): Promise<ToolOutcome> {
    const offered = new Set(PLANNER_TOOL_NAMES.filter((n) => this.allowed.has(n)));
    const alias = aliasedCall(name, rawArgs, offered);
    if (alias) return inToolSpan({ asked: name, ran: alias.tool }, async () => withAliasNote(alias.note, await this.runTool(alias.tool, alias.rawArgs)));
    const known = (PLANNER_TOOL_NAMES as readonly string[]).includes(name);
    return inToolSpan({ asked: name, ...(known ? { ran: name } : {}) }, () => this.runTool(name, rawArgs));
  }

  private async runTool(name: string, rawArgs: string): Promise<ToolOutcome> {
    if (!this.allowed.has(name) || !(PLANNER_TOOL_NAMES as readonly string[]).includes(name))
      return { ok: false, content: `error: there is no tool "${name}" for planning; use one of: ${[...this.allowed].join(', ')}, or answer with the plan` };
    const read = readToolArgs(name as ToolName, rawArgs);
    if ('refused' in read) return read.refused;
    const { args, note } = read;
    const noted = (content: string): ToolOutcome => ({ ok: true, content: note ? `${note}\n${content}` : content });
    try {
      if (name === 'list_files') return noted(this.list(stringArg(args, 'path', { optional: true })));
      if (name === 'read_file') return noted(await this.read(args));
      return noted(await this.search(args));
    } catch (e) {
      if (e instanceof ToolArgumentError || e instanceof UnsafePathError) return { ok: false, content: `error: ${e.message}` };
      throw e;
    }
  }

  private list(dir: string): string {
    const prefix = dir.trim() && dir.trim() !== '.' ? `${checkRelativePath(dir).replace(/\/$/, '')}/` : '';
    const under = this.files.filter((f) => f.path.startsWith(prefix));
    if (under.length === 0) return prefix ? `(no files under ${prefix})${didYouMean(prefix.slice(0, -1), [...this.dirs()])}` : '(no files)';
    const lines = under.slice(0, TOOL_LIMITS.listFiles).map((f) => `${f.path} (${f.size} B)`);
    if (under.length > lines.length) lines.push(`[... ${under.length - lines.length} more file(s) not listed; list a subdirectory ...]`);
    return lines.join('\n');
  }

  private async read(args: Record<string, unknown>): Promise<string> {
    const asked = checkRelativePath(stringArg(args, 'path'));
    // Lines written into the path (`lib/help.js:60-80`) are read as the range, with a note, as the coder's read_file does.
    const ranged = this.paths.has(asked) ? undefined : rangeInPath(asked, args);
    const path = ranged && this.paths.has(ranged.path) ? ranged.path : asked;
    if (!this.paths.has(path)) {
      if ([...this.dirs()].includes(path)) throw new UnsafePathError(path, 'is a directory; use list_files');
      throw new UnsafePathError(path, `does not exist${didYouMean(path, [...this.paths])}`);
    }
    const shown = await this.git.runCapped(this.mirrorDir, ['show', `${this.sha}:${path}`], TOOL_LIMITS.readBytes + 1);
    if (shown.truncated) throw new UnsafePathError(path, `is more than the ${TOOL_LIMITS.readBytes} bytes a read may return; search it instead`);
    if (shown.stdout.includes('\0')) throw new UnsafePathError(path, 'is a binary file');
    if (path !== asked && ranged) return `${ranged.note}\n${readFileView(path, shown.stdout, ranged.range, TOOL_LIMITS.readLines)}`;
    return readFileView(path, shown.stdout, { start: intArg(args, 'start_line'), end: intArg(args, 'end_line') }, TOOL_LIMITS.readLines);
  }

  private async search(args: Record<string, unknown>): Promise<string> {
    const pattern = stringArg(args, 'pattern', { max: 1000 });
    if (pattern === '') throw new ToolArgumentError('argument "pattern" is empty');
    const path = stringArg(args, 'path', { optional: true }).trim();
    const narrowed = path && path !== '.' ? checkRelativePath(path) : undefined;
    const grep = ['grep', '-n', '-I', '--no-color', `--max-count=${SEARCH_PER_FILE}`, args.regex === true ? '-E' : '-F', '-e', pattern, this.sha, '--'];
    const found = await this.git.runCapped(this.mirrorDir, [...grep, ...(narrowed ? [`:(literal)${narrowed}`] : [])], 200_000).catch((e: unknown) => {
      if (!(e instanceof GitCommandError)) throw e;
      // git grep exits 1 when nothing matches; a bad regex is the model's to fix.
      if (e.exitCode === 1) return { stdout: '', truncated: false };
      throw new ToolArgumentError(`search failed: ${e.detail.trim()}`);
    });
    const prefix = `${this.sha}:`;
    const lines = found.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => (l.startsWith(prefix) ? l.slice(prefix.length) : l))
      .map((l) => (l.length > 400 ? `${l.slice(0, 400)}...` : l));
    if (lines.length === 0) return 'no matches';
    const shown = lines.slice(0, TOOL_LIMITS.searchLines);
    const more = lines.length > shown.length || found.truncated || reachedPerFileCap(lines) ? ['[... more matches not shown; narrow the search ...]'] : [];
    return [...shown, ...more].join('\n');
  }

  private *dirs(): Iterable<string> {
    const seen = new Set<string>();
    for (const f of this.files) {
      const parts = f.path.split('/');
      for (let i = 1; i < parts.length; i += 1) {
        const d = parts.slice(0, i).join('/');
        if (!seen.has(d)) {
          seen.add(d);
          yield d;
        }
      }
    }
  }
}
