import type { WorktreeFiles } from '../../files/worktree-files.js';
import { checkRelativePath, resolveInside, UnsafePathError } from '../../files/path-guard.js';
import type { JobWorkspace } from '../../git/workspace.service.js';
import type { WorktreeGit } from '../../git/worktree-git.js';
import type { SandboxSession } from '../../sandbox/sandbox.js';
import { patchPaths } from './patch-paths.js';
import type { ToolName } from './tool-schemas.js';

/** What one tool call gave: the text the model reads, and what it changed in the repository. */
export interface ToolOutcome {
  ok: boolean;
  content: string;
  /** Repository paths the call created, changed or deleted: they get a checkpoint commit. */
  changed?: string[];
  /** finish was called with this summary. */
  finished?: { summary: string };
}

export const TOOL_LIMITS = { readBytes: 100_000, listFiles: 500, searchLines: 200, contentChars: 1_000_000, commandOutputBytes: 16_000, patchChars: 1_000_000 } as const;

export interface CoderToolsContext {
  ws: JobWorkspace;
  files: Pick<WorktreeFiles, 'write' | 'edit' | 'list' | 'readForModel'>;
  git: Pick<WorktreeGit, 'grep' | 'applyPatch'>;
  /** The job's sandbox, opened on the first command. */
  sandbox: () => Promise<SandboxSession>;
  commandTimeoutMs: number;
  /** Tool names this agent may use (finish is always allowed). */
  allowed: ReadonlySet<string>;
  /** After the runner (as root) changed files: hand them to the worktree's owner. */
  adopt?: (paths: string[]) => void;
}

/** A model's mistake in calling a tool: told back to it, never thrown out of the loop. */
class ToolArgumentError extends Error {}

function str(args: Record<string, unknown>, key: string, options: { optional?: boolean; max?: number } = {}): string {
  const v = args[key];
  if (v === undefined && options.optional) return '';
  if (typeof v !== 'string') throw new ToolArgumentError(`argument "${key}" must be a string`);
  if (options.max !== undefined && v.length > options.max) throw new ToolArgumentError(`argument "${key}" is longer than ${options.max} characters`);
  return v;
}

function int(args: Record<string, unknown>, key: string): number | undefined {
  const v = args[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ToolArgumentError(`argument "${key}" must be a positive integer`);
  return v;
}

/** The coder's tools on one job's worktree; every path goes through the path guard. */
export class CoderTools {
  constructor(private readonly ctx: CoderToolsContext) {}

  async run(name: string, rawArgs: string): Promise<ToolOutcome> {
    if (name !== 'finish' && !this.ctx.allowed.has(name)) return { ok: false, content: `error: there is no tool "${name}"; use one of: ${[...this.ctx.allowed, 'finish'].join(', ')}` };
    let args: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(rawArgs.trim() === '' ? '{}' : rawArgs);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
      args = parsed as Record<string, unknown>;
    } catch (e) {
      return { ok: false, content: `error: the arguments of ${name} are not a JSON object (${(e as Error).message})` };
    }
    try {
      return await this.dispatch(name as ToolName, args);
    } catch (e) {
      if (e instanceof ToolArgumentError || e instanceof UnsafePathError) return { ok: false, content: `error: ${e.message}` };
      if (e instanceof Error && (name === 'edit_file' || name === 'apply_patch' || name === 'search')) return { ok: false, content: `error: ${e.message}` };
      throw e;
    }
  }

  private async dispatch(name: ToolName, args: Record<string, unknown>): Promise<ToolOutcome> {
    const root = this.ctx.ws.dir;
    switch (name) {
      case 'list_files': {
        const dir = str(args, 'path', { optional: true });
        if (dir.trim() && dir.trim() !== '.') checkRelativePath(dir);
        const { files, more } = await this.ctx.files.list(root, dir, TOOL_LIMITS.listFiles);
        const lines = files.map((f) => `${f.path} (${f.size} B)`);
        if (more > 0) lines.push(`[... ${more} more file(s) not listed; list a subdirectory ...]`);
        return { ok: true, content: lines.length > 0 ? lines.join('\n') : '(no files)' };
      }
      case 'read_file': {
        const path = checkRelativePath(str(args, 'path'));
        const text = await this.ctx.files.readForModel(root, path, TOOL_LIMITS.readBytes);
        const start = int(args, 'start_line');
        const end = int(args, 'end_line');
        if (start === undefined && end === undefined) return { ok: true, content: text };
        const lines = text.split('\n');
        const from = start ?? 1;
        const to = Math.min(end ?? lines.length, lines.length);
        if (from > to) throw new ToolArgumentError(`start_line ${from} is after end_line ${to} (the file has ${lines.length} lines)`);
        return { ok: true, content: `(lines ${from}-${to} of ${lines.length})\n${lines.slice(from - 1, to).join('\n')}` };
      }
      case 'search': {
        const pattern = str(args, 'pattern', { max: 1000 });
        if (pattern === '') throw new ToolArgumentError('argument "pattern" is empty');
        const path = str(args, 'path', { optional: true });
        const narrowed = path.trim() && path.trim() !== '.' ? checkRelativePath(path) : undefined;
        if (narrowed) resolveInside(root, narrowed);
        const found = await this.ctx.git.grep(this.ctx.ws, pattern, { regex: args.regex === true, max: TOOL_LIMITS.searchLines, ...(narrowed ? { path: narrowed } : {}) });
        if (found.lines.length === 0) return { ok: true, content: 'no matches' };
        return { ok: true, content: [...found.lines, ...(found.more ? [`[... more matches not shown; narrow the search ...]`] : [])].join('\n') };
      }
      case 'write_file': {
        const path = checkRelativePath(str(args, 'path'));
        const content = str(args, 'content', { max: TOOL_LIMITS.contentChars });
        await this.ctx.files.write(root, [{ path, content }]);
        return { ok: true, content: `wrote ${path} (${Buffer.byteLength(content)} bytes)`, changed: [path] };
      }
      case 'edit_file': {
        const path = checkRelativePath(str(args, 'path'));
        const { replacements } = await this.ctx.files.edit(root, path, str(args, 'old_text', { max: TOOL_LIMITS.contentChars }), str(args, 'new_text', { max: TOOL_LIMITS.contentChars }), args.replace_all === true);
        return { ok: true, content: `edited ${path}: ${replacements} replacement(s)`, changed: [path] };
      }
      case 'apply_patch': {
        const patch = str(args, 'patch', { max: TOOL_LIMITS.patchChars });
        const { strip, paths } = patchPaths(patch);
        // Checked before git sees the patch: the same rules as every other file tool.
        const checked = paths.map((p) => {
          const normalized = checkRelativePath(p);
          resolveInside(root, normalized);
          return normalized;
        });
        await this.ctx.git.applyPatch(this.ctx.ws, patch, strip);
        this.ctx.adopt?.(checked);
        return { ok: true, content: `applied the patch to ${checked.join(', ')}`, changed: checked };
      }
      case 'run_command': {
        const command = str(args, 'command', { max: 20_000 });
        if (!command.trim()) throw new ToolArgumentError('argument "command" is empty');
        const asked = int(args, 'timeout_seconds');
        const timeoutMs = Math.min(this.ctx.commandTimeoutMs, asked ? asked * 1000 : this.ctx.commandTimeoutMs);
        const session = await this.ctx.sandbox();
        const r = await session.exec({ command, timeoutMs, maxOutputBytes: TOOL_LIMITS.commandOutputBytes });
        const how = r.timedOut
          ? `killed at the time limit of ${Math.round(timeoutMs / 1000)} s`
          : r.oomKilled
            ? 'killed: the sandbox ran out of memory'
            : `exit code ${r.exitCode}${r.signal ? ` (${r.signal})` : ''}`;
        return { ok: r.exitCode === 0 && !r.timedOut, content: `${how}, ${(r.durationMs / 1000).toFixed(1)} s\n${r.output || '(no output)'}` };
      }
      case 'finish': {
        const summary = str(args, 'summary', { max: 5000 }).trim();
        if (!summary) throw new ToolArgumentError('argument "summary" is empty; say what you changed');
        return { ok: true, content: 'finished', finished: { summary } };
      }
      default:
        return { ok: false, content: `error: there is no tool "${String(name)}"` };
    }
  }
}
