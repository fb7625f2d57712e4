import type { ToolDefinition } from '@agency/llm-client';

/** Every tool the coder knows; an agent's `tools:` in the vault picks which it offers. `finish` is always offered. */
export const TOOL_NAMES = ['list_files', 'read_file', 'search', 'write_file', 'edit_file', 'apply_patch', 'run_command', 'finish'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

const path = { type: 'string', description: 'Path relative to the repository root, forward slashes, e.g. src/index.js' } as const;

export const TOOL_SCHEMAS: Record<ToolName, ToolDefinition> = {
  list_files: {
    name: 'list_files',
    description: 'List files (with sizes) under a directory of the repository, recursively. .git and node_modules are skipped.',
    parameters: { type: 'object', properties: { path: { type: 'string', description: 'Directory relative to the repository root; empty for the root.' } }, additionalProperties: false },
  },
  read_file: {
    name: 'read_file',
    description: 'Read a text file of the repository. Optionally only lines start_line..end_line (1-based, inclusive).',
    parameters: {
      type: 'object',
      properties: { path, start_line: { type: 'integer', minimum: 1 }, end_line: { type: 'integer', minimum: 1 } },
      required: ['path'],
      additionalProperties: false,
    },
  },
  search: {
    name: 'search',
    description: 'Search the repository\'s text files (git grep). Answers "path:line:text" lines.',
    parameters: {
      type: 'object',
      properties: {
        pattern: { type: 'string', description: 'Text to find; a POSIX extended regular expression when regex is true.' },
        regex: { type: 'boolean', description: 'Treat pattern as a regular expression (default false: fixed text).' },
        path: { type: 'string', description: 'Only this file or directory.' },
      },
      required: ['pattern'],
      additionalProperties: false,
    },
  },
  write_file: {
    name: 'write_file',
    description: 'Create a file or replace its whole content. Parent directories are created. The change is committed at once.',
    parameters: { type: 'object', properties: { path, content: { type: 'string', description: 'The complete new content.' } }, required: ['path', 'content'], additionalProperties: false },
  },
  edit_file: {
    name: 'edit_file',
    description: 'Replace exact text in an existing file: old_text must occur exactly once (or set replace_all). Copy old_text from read_file, whitespace included. Committed at once.',
    parameters: {
      type: 'object',
      properties: { path, old_text: { type: 'string' }, new_text: { type: 'string' }, replace_all: { type: 'boolean' } },
      required: ['path', 'old_text', 'new_text'],
      additionalProperties: false,
    },
  },
  apply_patch: {
    name: 'apply_patch',
    description: 'Apply a unified diff (git diff format: "--- a/path", "+++ b/path", @@ hunks) to the repository\'s files. Committed at once.',
    parameters: { type: 'object', properties: { patch: { type: 'string' } }, required: ['patch'], additionalProperties: false },
  },
  run_command: {
    name: 'run_command',
    description: 'Run a shell command (sh -c) in the repository, in an isolated sandbox without network. Answers the exit code and the output (cut in the middle when long). Use it to run tests or linters; file changes made by commands are not committed.',
    parameters: {
      type: 'object',
      properties: { command: { type: 'string' }, timeout_seconds: { type: 'integer', minimum: 1, description: 'Wall-clock limit (capped by the agency).' } },
      required: ['command'],
      additionalProperties: false,
    },
  },
  finish: {
    name: 'finish',
    description: 'End the work: every change is already committed. Give a short summary of what you changed and why.',
    parameters: { type: 'object', properties: { summary: { type: 'string' } }, required: ['summary'], additionalProperties: false },
  },
};

/** The tools an agent may use: those its vault file lists (unknown names are ignored), plus finish. */
export function toolsFor(allowed: readonly string[]): ToolDefinition[] {
  const names = TOOL_NAMES.filter((n) => n === 'finish' || allowed.includes(n));
  return names.map((n) => TOOL_SCHEMAS[n]);
}
