import type { WorktreeFiles } from '../../files/worktree-files.js';
import { checkRelativePath, resolveInside, UnsafePathError } from '../../files/path-guard.js';
import type { JobWorkspace } from '../../git/workspace.service.js';
import type { WorktreeGit } from '../../git/worktree-git.js';
import type { SandboxSession } from '../../sandbox/sandbox.js';
import { firstMismatch, hunksOf, withRecountedHunks } from './patch-hunks.js';
import { patchPaths } from './patch-paths.js';
import { ToolArgumentError } from './tool-args.js';
import { aliasedCall, withAliasNote } from './tool-aliases.js';
import { TOOL_SCHEMAS, type ToolName } from './tool-schemas.js';
import { didYouMean, inToolSpan, intArg, rangeInPath, readFileView, readToolArgs, stringArg, type ToolOutcome } from './tool-text.js';

export type { ToolOutcome } from './tool-text.js';

export const TOOL_LIMITS = {
  readBytes: 400_000,
  readLines: 400,
  listFiles: 500,
  searchLines: 200,
  contentChars: 1_000_000,
  commandOutputBytes: 16_000,
  patchChars: 1_000_000,
  diffChars: 30_000,
} as const;

/**
 * The environment of the coder's commands besides the sandbox's own: git in the sandbox cannot
 * reach the repository (its git directory lives in the runner's mirror, out of reach), so it says
 * why in its own error instead of naming a host path.
 */
export const COMMAND_ENV: Readonly<Record<string, string>> = { GIT_DIR: '/git-is-not-available-in-the-sandbox--the-agency-commits-for-you--use-show_changes' };

export interface CoderToolsContext {
  ws: JobWorkspace;
  files: Pick<WorktreeFiles, 'write' | 'edit' | 'list' | 'readForModel'>;
  git: Pick<WorktreeGit, 'grep' | 'applyPatch'>;
  /** The job's sandbox, opened on the first command. */
  sandbox: () => Promise<SandboxSession>;
  commandTimeoutMs: number;
  /** Where the sandbox's commands run (the prompt names it): a path under it is read as repository-relative. */
  workdir?: string;
  /** Tool names this agent may use (finish is always allowed). */
  allowed: ReadonlySet<string>;
  /** After the runner (as root) changed files: hand them to the worktree's owner. */
  adopt?: (paths: string[]) => void;
  /** What a command changed in the worktree (git's view): tracked files are committed, new ones only reported. */
  changes?: () => Promise<{ tracked: string[]; untracked: string[] }>;
  /** The round's changes so far as a diff against its start, optionally under one path. */
  diff?: (path?: string) => Promise<string>;
}

/** git refused a patch; the message is what the model reads. */
class PatchRefusedError extends Error {}

/**
 * git apply's complaint without the runner's own paths (the patch sits in a temporary file), the
 * first line of the patch that differs from the file when one does, and what usually fixes it
 * (the form of the patch when no line differs).
 */
export function patchFailure(message: string, checked?: { mismatch?: string }): string {
  const mismatch = checked?.mismatch;
  const cleaned = message
    .replace(/^git .*? failed: /, '')
    .replace(/\/[^\s:'"]*\/tmp\/[0-9a-f-]+\.patch/g, 'the patch')
    // git's own "error: " on every line read as a second error inside the first (relay trial cookie-es).
    .replace(/^error: /gm, '')
    .trim()
    .replace(/\.?\n+/g, '; ');
  // Nothing differs (hunk headers' counts are the agency's own): telling the model to re-read the file sends it looking for nothing.
  if (checked && !mismatch)
    return `the patch did not apply: ${cleaned}. Every hunk's context and removed lines are in the file as written, so check the patch's form: a \`--- a/<path>\` and \`+++ b/<path>\` pair before each file's hunks, the hunks of a file in file order, each line of a hunk starting with a space, - or +; or use edit_file for a small change.`;
  const where = mismatch ? ` Where it differs: ${mismatch}.` : '';
  return `the patch did not apply: ${cleaned}.${where} Each hunk's context and removed lines must match the file exactly, whitespace and blank lines included: read_file the region again (the line numbers it shows are not part of the file), or use edit_file for a small change.`;
}

function listed(paths: readonly string[]): string {
  return paths.length <= 10 ? paths.join(', ') : `${paths.slice(0, 10).join(', ')} and ${paths.length - 10} more`;
}

/** What the model is told about the files a command changed. */
function changesNote(c: { tracked: string[]; untracked: string[] }): string {
  const parts: string[] = [];
  if (c.tracked.length > 0) parts.push(`[the command changed ${c.tracked.length} tracked file(s), committed with this step: ${listed(c.tracked)}]`);
  if (c.untracked.length > 0) parts.push(`[new files the command created are not committed: ${listed(c.untracked)}; create a file with write_file to keep it]`);
  return `\n${parts.join('\n')}`;
}

/** The coder's tools on one job's worktree; every path goes through the path guard. */
export class CoderTools {
  constructor(private readonly ctx: CoderToolsContext) {}

  /** One tool call of the model, in its `execute_tool <tool>` span; a tool called by another family's name (`bash`) runs as the tool it stands for. */
  async run(name: string, rawArgs: string): Promise<ToolOutcome> {
    const alias = aliasedCall(name, rawArgs, new Set([...this.offered(), 'finish']));
    if (alias) return inToolSpan({ asked: name, ran: alias.tool }, async () => withAliasNote(alias.note, await this.runTool(alias.tool, alias.rawArgs)));
    const known = Object.hasOwn(TOOL_SCHEMAS, name);
    return inToolSpan({ asked: name, ...(known ? { ran: name } : {}) }, () => this.runTool(name, rawArgs));
  }

  /** The tools this agent may use, finish aside. */
  private offered(): string[] {
    return [...this.ctx.allowed].filter((n) => n in TOOL_SCHEMAS && n !== 'finish');
  }

  private async runTool(name: string, rawArgs: string): Promise<ToolOutcome> {
    const offered = this.offered();
    if (name !== 'finish' && !(this.ctx.allowed.has(name) && name in TOOL_SCHEMAS))
      return { ok: false, content: `error: there is no tool "${name}"; use one of: ${[...offered, 'finish'].join(', ')}` };
    const read = readToolArgs(name as ToolName, rawArgs);
    if ('refused' in read) return read.refused;
    const { args, note: renamed } = read;
    const inWorkdir = this.relativeToWorkdir(args);
    const note = [renamed, inWorkdir].filter(Boolean).join('\n');
    try {
      const outcome = await this.dispatch(name as ToolName, args);
      return note ? withAliasNote(note, outcome) : outcome;
    } catch (e) {
      if (e instanceof UnsafePathError && /does not exist|is not an existing file/.test(e.problem))
        return { ok: false, content: `error: ${e.message}${await this.suggest(e.path)}` };
      if (e instanceof ToolArgumentError || e instanceof UnsafePathError) return { ok: false, content: `error: ${e.message}` };
      if (e instanceof PatchRefusedError) return { ok: false, content: `error: ${e.message}` };
      if (e instanceof Error && name === 'apply_patch') return { ok: false, content: `error: ${patchFailure(e.message)}` };
      if (e instanceof Error && (name === 'edit_file' || name === 'search')) return { ok: false, content: `error: ${e.message}` };
      throw e;
    }
  }

  private async dispatch(name: ToolName, args: Record<string, unknown>): Promise<ToolOutcome> {
    const root = this.ctx.ws.dir;
    switch (name) {
      case 'list_files': {
        const dir = stringArg(args, 'path', { optional: true });
        if (dir.trim() && dir.trim() !== '.') checkRelativePath(dir);
        const { files, more } = await this.ctx.files.list(root, dir, TOOL_LIMITS.listFiles);
        const lines = files.map((f) => `${f.path} (${f.size} B)`);
        if (more > 0) lines.push(`[... ${more} more file(s) not listed; list a subdirectory ...]`);
        return { ok: true, content: lines.length > 0 ? lines.join('\n') : '(no files)' };
      }
      case 'read_file':
        return { ok: true, content: await this.readFile(root, args) };
      case 'search': {
        const pattern = stringArg(args, 'pattern', { max: 1000 });
        if (pattern === '') throw new ToolArgumentError('argument "pattern" is empty');
        const path = stringArg(args, 'path', { optional: true });
        const narrowed = path.trim() && path.trim() !== '.' ? checkRelativePath(path) : undefined;
        if (narrowed) resolveInside(root, narrowed);
        const found = await this.ctx.git.grep(this.ctx.ws, pattern, {
          regex: args.regex === true,
          max: TOOL_LIMITS.searchLines,
          ...(narrowed ? { path: narrowed } : {}),
        });
        if (found.lines.length === 0) return { ok: true, content: 'no matches' };
        return { ok: true, content: [...found.lines, ...(found.more ? [`[... more matches not shown; narrow the search ...]`] : [])].join('\n') };
      }
      case 'write_file': {
        const path = checkRelativePath(stringArg(args, 'path'));
        const content = stringArg(args, 'content', { max: TOOL_LIMITS.contentChars });
        await this.ctx.files.write(root, [{ path, content }]);
        return { ok: true, content: `wrote ${path} (${Buffer.byteLength(content)} bytes)`, changed: [path] };
      }
      case 'edit_file': {
        const path = checkRelativePath(stringArg(args, 'path'));
        const { replacements } = await this.ctx.files.edit(
          root,
          path,
          stringArg(args, 'old_text', { max: TOOL_LIMITS.contentChars }),
          stringArg(args, 'new_text', { max: TOOL_LIMITS.contentChars }),
          args.replace_all === true,
        );
        return { ok: true, content: `edited ${path}: ${replacements} replacement(s)`, changed: [path] };
      }
      case 'apply_patch': {
        // Hunk headers' line counts are the model's weakest part: git gets counts taken from the hunks themselves.
        const patch = withRecountedHunks(stringArg(args, 'patch', { max: TOOL_LIMITS.patchChars }));
        const { strip, paths } = patchPaths(patch);
        // Checked before git sees the patch: the same rules as every other file tool.
        const checked = paths.map((p) => {
          const normalized = checkRelativePath(p);
          resolveInside(root, normalized);
          return normalized;
        });
        const hunks = hunksOf(patch, strip);
        let applied: { reducedContext: boolean } | void;
        try {
          applied = await this.ctx.git.applyPatch(this.ctx.ws, patch, strip, { everyHunkRemoves: hunks.length > 0 && hunks.every((h) => h.removes > 0) });
        } catch (e) {
          const checked = await firstMismatch(hunks, (p) => this.ctx.files.readForModel(root, p, TOOL_LIMITS.contentChars).catch(() => undefined)).then(
            (mismatch) => ({ ...(mismatch ? { mismatch } : {}) }),
            () => undefined,
          );
          throw new PatchRefusedError(patchFailure((e as Error).message, checked));
        }
        this.ctx.adopt?.(checked);
        const loose =
          applied && applied.reducedContext
            ? ' with one line of context (not all of its context matched as it is, e.g. a hunk with nothing after its change): check the result with show_changes'
            : '';
        return { ok: true, content: `applied the patch to ${checked.join(', ')}${loose}`, changed: checked };
      }
      case 'run_command': {
        const command = stringArg(args, 'command', { max: 20_000 });
        if (!command.trim()) throw new ToolArgumentError('argument "command" is empty');
        const asked = intArg(args, 'timeout_seconds');
        const timeoutMs = Math.min(this.ctx.commandTimeoutMs, asked ? asked * 1000 : this.ctx.commandTimeoutMs);
        const session = await this.ctx.sandbox();
        const r = await session.exec({ command, timeoutMs, maxOutputBytes: TOOL_LIMITS.commandOutputBytes, env: { ...COMMAND_ENV } });
        this.workdir = session.workdir;
        const how = r.timedOut
          ? `killed at the time limit of ${Math.round(timeoutMs / 1000)} s`
          : r.oomKilled
            ? 'killed: the sandbox ran out of memory'
            : `exit code ${r.exitCode}${r.signal ? ` (${r.signal})` : ''}`;
        const content = `${how}, ${(r.durationMs / 1000).toFixed(1)} s\n${r.output || '(no output)'}`;
        const changed = await this.ctx.changes?.();
        if (!changed || (changed.tracked.length === 0 && changed.untracked.length === 0)) return { ok: r.exitCode === 0 && !r.timedOut, content };
        return {
          ok: r.exitCode === 0 && !r.timedOut,
          content: `${content}${changesNote(changed)}`,
          ...(changed.tracked.length > 0 ? { changed: changed.tracked } : {}),
        };
      }
      case 'show_changes': {
        const path = stringArg(args, 'path', { optional: true }).trim();
        const narrowed = path && path !== '.' ? checkRelativePath(path) : undefined;
        if (!this.ctx.diff) return { ok: false, content: 'error: show_changes is not available here' };
        const diff = await this.ctx.diff(narrowed);
        if (!diff.trim()) {
          // A path that is not there reads otherwise like an unchanged file (pathe trial: "no changes under src/index.js").
          const files = narrowed ? await this.allFiles() : [];
          if (narrowed && !files.some((f) => f === narrowed || f.startsWith(`${narrowed.replace(/\/$/, '')}/`)))
            return { ok: false, content: `error: path "${narrowed}" does not exist${didYouMean(narrowed, files)}` };
          return { ok: true, content: narrowed ? `no changes under ${narrowed} in this round yet` : 'no changes in this round yet' };
        }
        return {
          ok: true,
          content:
            diff.length > TOOL_LIMITS.diffChars
              ? `${diff.slice(0, TOOL_LIMITS.diffChars)}\n[... ${diff.length - TOOL_LIMITS.diffChars} more characters: show_changes with a path to see one file ...]`
              : diff,
        };
      }
      case 'finish': {
        const summary = stringArg(args, 'summary', { max: 5000 }).trim();
        if (!summary) throw new ToolArgumentError('argument "summary" is empty; say what you changed');
        return { ok: true, content: 'finished', finished: { summary } };
      }
      default:
        return { ok: false, content: `error: there is no tool "${String(name)}"` };
    }
  }

  private async allFiles(): Promise<string[]> {
    const { files } = await this.ctx.files.list(this.ctx.ws.dir, '', 20_000).catch(() => ({ files: [] as Array<{ path: string }> }));
    return files.map((f) => f.path);
  }

  /** `; did you mean README.md?` for a path that does not exist. */
  private async suggest(path: string): Promise<string> {
    return didYouMean(path, await this.allFiles());
  }

  /** Where commands ran, as the last session said (for the model's benefit). */
  workdir?: string;

  /**
   * A `path` given as the sandbox sees it (`/workspace/repo/src/x.ts`, the directory the prompt
   * names) is the repository-relative path: read so, with a note (a rou3 trial's coder lost a
   * turn to show_changes refusing it as absolute). Any other absolute path is still refused.
   */
  private relativeToWorkdir(args: Record<string, unknown>): string | undefined {
    const workdir = (this.ctx.workdir ?? this.workdir)?.replace(/\/+$/, '');
    const path = args.path;
    if (!workdir || typeof path !== 'string' || !path.startsWith(`${workdir}/`)) return undefined;
    args.path = path.slice(workdir.length + 1);
    return `[path read relative to the repository: ${path} -> ${String(args.path)}]`;
  }

  /** A file with numbered lines (readFileView); a path that does not exist with lines written into it (`a.js:60-80`) reads them, with a note. */
  private async readFile(root: string, args: Record<string, unknown>): Promise<string> {
    const path = checkRelativePath(stringArg(args, 'path'));
    let text: string;
    try {
      text = await this.ctx.files.readForModel(root, path, TOOL_LIMITS.readBytes);
    } catch (e) {
      const ranged = e instanceof UnsafePathError && /does not exist|is not an existing file/.test(e.problem) ? rangeInPath(path, args) : undefined;
      if (!ranged) throw e;
      // When the file without the range does not exist either, the model hears about the path it wrote.
      const found = await this.ctx.files.readForModel(root, ranged.path, TOOL_LIMITS.readBytes).catch(() => undefined);
      if (found === undefined) throw e;
      return `${ranged.note}\n${readFileView(ranged.path, found, ranged.range, TOOL_LIMITS.readLines)}`;
    }
    return readFileView(path, text, { start: intArg(args, 'start_line'), end: intArg(args, 'end_line') }, TOOL_LIMITS.readLines);
  }
}
