import type { ToolDefinition } from '@agency/llm-client';

/** Every tool the coder knows; an agent's `tools:` in the vault picks which it offers. `finish` is always offered. */
export const TOOL_NAMES = ['list_files', 'read_file', 'search', 'write_file', 'edit_file', 'apply_patch', 'run_command', 'show_changes', 'finish'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

const path = { type: 'string', description: 'Relative to the repository root, e.g. src/index.js' } as const;

// Descriptions are short on purpose: every one is sent with every turn of the tool loop.
export const TOOL_SCHEMAS: Record<ToolName, ToolDefinition> = {
  list_files: {
    name: 'list_files',
    description: 'List files (with sizes) under a directory, recursively; .git and node_modules skipped.',
    parameters: { type: 'object', properties: { path: { type: 'string', description: 'Directory; empty for the root.' } }, additionalProperties: false },
  },
  read_file: {
    name: 'read_file',
    description:
      'Read a text file with line numbers ("12<TAB>text"; not part of the file), at most 400 lines per call; start_line/end_line (1-based) for a part.',
    parameters: {
      type: 'object',
      properties: { path, start_line: { type: 'integer', minimum: 1 }, end_line: { type: 'integer', minimum: 1 } },
      required: ['path'],
      additionalProperties: false,
    },
  },
  search: {
    name: 'search',
    description: 'Search text files (git grep); answers "path:line:text".',
    parameters: {
      type: 'object',
      properties: {
        pattern: { type: 'string' },
        regex: { type: 'boolean', description: 'POSIX extended regex (default: fixed text).' },
        path: { type: 'string', description: 'Only this file or directory.' },
      },
      required: ['pattern'],
      additionalProperties: false,
    },
  },
  write_file: {
    name: 'write_file',
    description: 'Create a file or replace its whole content (parent directories are made). Committed at once.',
    parameters: { type: 'object', properties: { path, content: { type: 'string' } }, required: ['path', 'content'], additionalProperties: false },
  },
  edit_file: {
    name: 'edit_file',
    description:
      'Replace old_text, which must occur exactly once (or set replace_all), copied from read_file with its whitespace and without the line numbers. Committed at once.',
    parameters: {
      type: 'object',
      properties: { path, old_text: { type: 'string' }, new_text: { type: 'string' }, replace_all: { type: 'boolean' } },
      required: ['path', 'old_text', 'new_text'],
      additionalProperties: false,
    },
  },
  apply_patch: {
    name: 'apply_patch',
    description: 'Apply a unified diff ("--- a/path", "+++ b/path", @@ hunks). Committed at once.',
    parameters: { type: 'object', properties: { patch: { type: 'string' } }, required: ['patch'], additionalProperties: false },
  },
  run_command: {
    name: 'run_command',
    description:
      'Run a shell command (sh -c) in the repository, in a sandbox without network: tests, linters, formatters. Answers the exit code and output. Changes to tracked files are committed; new files are not (use write_file). No git: use show_changes.',
    parameters: {
      type: 'object',
      properties: { command: { type: 'string' }, timeout_seconds: { type: 'integer', minimum: 1 } },
      required: ['command'],
      additionalProperties: false,
    },
  },
  show_changes: {
    name: 'show_changes',
    description: 'The diff of this round so far (committed and not), to review before finish.',
    parameters: { type: 'object', properties: { path: { type: 'string', description: 'Only this file or directory.' } }, additionalProperties: false },
  },
  finish: {
    name: 'finish',
    description:
      'End the work (everything is committed) with a short summary of what you changed and why; it becomes the commit message and the PR description.',
    parameters: { type: 'object', properties: { summary: { type: 'string' } }, required: ['summary'], additionalProperties: false },
  },
};

/** The tools an agent may use: those its vault file lists (unknown names are ignored), plus finish. */
export function toolsFor(allowed: readonly string[]): ToolDefinition[] {
  const names = TOOL_NAMES.filter((n) => n === 'finish' || allowed.includes(n));
  return names.map((n) => TOOL_SCHEMAS[n]);
}
