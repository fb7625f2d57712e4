import { TOOL_NAMES, TOOL_SCHEMAS, type ToolName } from './tool-schemas.js';
import { withOurArgumentNames } from './tool-args.js';
import { parseToolArgs } from './tool-text.js';

/**
 * Names other agent families give our tools, which models call out of habit (relay trial citty:
 * `bash({"command": ...})` cost a turn to be told the tool is run_command). Only names whose
 * meaning is plain; `grep` or `str_replace` are left out, as their arguments mean other things.
 */
const ALIASES: ReadonlyMap<string, ToolName> = new Map(
  Object.entries({
    bash: 'run_command',
    shell: 'run_command',
    sh: 'run_command',
    exec: 'run_command',
    execute: 'run_command',
    execute_command: 'run_command',
    execute_bash: 'run_command',
    run_shell_command: 'run_command',
    run_terminal_cmd: 'run_command',
    terminal: 'run_command',
    cat: 'read_file',
    read: 'read_file',
    view_file: 'read_file',
    open_file: 'read_file',
    ls: 'list_files',
    list_dir: 'list_files',
    list_directory: 'list_files',
    write: 'write_file',
    create_file: 'write_file',
  } satisfies Record<string, ToolName>),
);

/** A call by another name, as the tool it stands for. */
export interface AliasedCall {
  tool: ToolName;
  /** The arguments under our names, as JSON. */
  rawArgs: string;
  /** The line put before the result, so the next call uses the right name. */
  note: string;
}

/**
 * The call's arguments under the tool's own names, with the renames whose values changed (Read's
 * offset and limit), or undefined unless every one maps to exactly one of them and none it needs is missing.
 */
function mappedArgs(tool: ToolName, rawArgs: string): { args: Record<string, unknown>; converted: string[] } | undefined {
  let parsed: unknown;
  try {
    parsed = parseToolArgs(rawArgs);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const schema = TOOL_SCHEMAS[tool].parameters as { properties?: Record<string, unknown>; required?: string[] };
  const properties = schema.properties ?? {};
  const { args, converted } = withOurArgumentNames(TOOL_SCHEMAS[tool], parsed as Record<string, unknown>);
  if (!Object.keys(args).every((k) => Object.hasOwn(properties, k))) return undefined;
  return (schema.required ?? []).every((k) => Object.hasOwn(args, k)) ? { args, converted } : undefined;
}

/**
 * The offered tool a call by another name stands for (`bash` with a `command`, `Read_File`),
 * or undefined: when the name is ours already, stands for no tool, or for one not offered (a
 * planner's `bash` stays refused), or when its arguments do not map onto the tool's.
 */
export function aliasedCall(name: string, rawArgs: string, offered: ReadonlySet<string>): AliasedCall | undefined {
  const lower = name.trim().toLowerCase();
  const tool = (TOOL_NAMES as readonly string[]).includes(lower) ? (lower as ToolName) : ALIASES.get(lower);
  if (tool === undefined || tool === name || !offered.has(tool)) return undefined;
  const mapped = mappedArgs(tool, rawArgs);
  if (!mapped) return undefined;
  // A value read in another unit or as a range (Read's offset and limit) is said, as the tool ran with what the model did not send.
  const converted = mapped.converted.length > 0 ? `\n[arguments read as ${tool}'s: ${mapped.converted.join(', ')}]` : '';
  return { tool, rawArgs: JSON.stringify(mapped.args), note: `[ran as ${tool}; the tool is called ${tool}]${converted}` };
}

/** The outcome of an aliased call, with the note as its first line. */
export function withAliasNote<T extends { content: string }>(note: string, outcome: T): T {
  return { ...outcome, content: `${note}\n${outcome.content}` };
}
