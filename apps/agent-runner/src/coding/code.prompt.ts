import { posix } from 'node:path';
import type { FrSnapshotDto, RepoTargetDto, ReviewFindingDto } from '@agency/contracts';
import type { ChatMessage } from '@agency/llm-client';
import type { AgentDefinition } from '@agency/vault';
import type { Plan } from '../planning/plan.answer.js';
import { bounded, fence, frSection, repoMap, type RepoFile } from '../prompts/prompt-parts.js';

export const CODE_ANSWER_FORMAT =
  'Answer with one JSON object and nothing else: {"summary": "<what you changed>", "files": [{"path": "relative/path", "content": "<the whole new content of the file>"}]}. ' +
  'List only files you create or change, each once, with its complete content; paths are relative to the repository root.';

/** How the tool loop is explained; a whole-files JSON answer stays acceptable for models that cannot call tools. */
export function toolTaskText(testCommand: string, workdir: string): string {
  return (
    'Work in the repository with the tools: list_files, read_file and search to look around; write_file, edit_file and apply_patch to change files ' +
    '(each change is committed at once); run_command to run commands such as the tests (`' +
    testCommand +
    '`) in a sandbox without network, whose working directory ' +
    workdir +
    ' is the repository. Paths are relative to the repository root. When the work is done, call finish with a short summary. ' +
    'If you cannot call tools, answer instead with one JSON object: {"summary": "...", "files": [{"path": "relative/path", "content": "<the whole new content>"}]}.'
  );
}

export const CONTEXT_LIMITS = { files: 24, fileBytes: 60_000, totalChars: 150_000, testFailureChars: 12_000 } as const;

export interface CodePromptInput {
  fr: FrSnapshotDto;
  repo: RepoTargetDto;
  plan: Plan;
  round: number;
  /** The repository at the round's starting commit. */
  tree: readonly RepoFile[];
  /** Current content of the files the change is likely to touch or imitate. */
  contents: ReadonlyArray<{ path: string; content: string }>;
  findings: readonly ReviewFindingDto[];
  testFailures?: string;
  /** With tools the task says how to use them; without, the one-shot JSON answer is asked for. */
  tools?: { workdir: string };
}

/**
 * Files worth showing the coder in full: those the plan and the findings name (when they
 * exist), package.json, and for each file to be created one existing neighbour to imitate.
 */
export function contextPaths(plan: Plan, findings: readonly ReviewFindingDto[], tree: readonly RepoFile[], max: number = CONTEXT_LIMITS.files): string[] {
  const existing = new Set(tree.map((f) => f.path));
  const wanted = [...plan.steps.flatMap((s) => s.files), ...findings.map((f) => f.file)].map((p) => p.replace(/^\.\//, ''));
  const out: string[] = [];
  const add = (p: string) => {
    if (existing.has(p) && !out.includes(p) && out.length < max) out.push(p);
  };
  for (const p of wanted) add(p);
  add('package.json');
  for (const p of wanted.filter((w) => !existing.has(w))) {
    const dir = posix.dirname(p);
    const ext = posix.extname(p);
    const siblings = tree.filter((f) => posix.dirname(f.path) === dir).map((f) => f.path).sort();
    const neighbour = siblings.find((s) => posix.extname(s) === ext) ?? siblings[0];
    if (neighbour) add(neighbour);
  }
  return out;
}

function planSection(plan: Plan): string {
  const lines = ['# Plan', '', plan.summary, ''];
  plan.steps.forEach((s, i) => {
    lines.push(`${i + 1}. ${s.title}${s.files.length ? ` (${s.files.join(', ')})` : ''}`);
    if (s.detail.trim()) lines.push(`   ${s.detail.trim().replace(/\n/g, '\n   ')}`);
  });
  if (plan.risks.length > 0) lines.push('', 'Risks:', ...plan.risks.map((r) => `- ${r}`));
  return lines.join('\n');
}

function filesSection(contents: CodePromptInput['contents'], totalChars: number): string {
  if (contents.length === 0) return '';
  const parts: string[] = ['# Current files', ''];
  let used = 0;
  const left: string[] = [];
  for (const f of contents) {
    if (used + f.content.length > totalChars) {
      left.push(f.path);
      continue;
    }
    used += f.content.length;
    parts.push(`## ${f.path}`, '', fence(f.content), '');
  }
  if (left.length > 0) parts.push(`(Not shown, to keep the prompt short: ${left.join(', ')}.)`, '');
  return parts.join('\n');
}

function findingsSection(findings: readonly ReviewFindingDto[]): string {
  if (findings.length === 0) return '';
  const lines = ['# Review findings to address', ''];
  for (const f of findings) {
    const where = f.line !== undefined ? `${f.file}:${f.line}` : f.file;
    lines.push(`- [${f.severity}${f.blocking ? ', blocking' : ''}] ${where}: ${f.message}${f.suggestion ? ` Suggestion: ${f.suggestion}` : ''}`);
  }
  return lines.join('\n');
}

/** The coder's conversation: vault system prompt, then FR, plan, repository, current files and, in a fix round, what to fix. */
export function buildCodeMessages(agent: AgentDefinition, input: CodePromptInput): ChatMessage[] {
  const fixing = input.findings.length > 0 || !!input.testFailures;
  const sections = [
    frSection(input.fr),
    planSection(input.plan),
    `# Repository ${input.repo.name}\n\nTests run with: ${input.repo.testCommand}\n\nFiles (path and size):\n\n${repoMap(input.tree)}`,
    filesSection(input.contents, CONTEXT_LIMITS.totalChars),
    findingsSection(input.findings),
    input.testFailures ? `# Failing tests of the previous round\n\n${fence(bounded(input.testFailures.slice(-CONTEXT_LIMITS.testFailureChars), CONTEXT_LIMITS.testFailureChars, 'test output'))}` : '',
    `# Your task\n\nRound ${input.round}. ${fixing ? 'The files above already hold the earlier rounds\' work; fix what the findings and failing tests show, and keep the rest.' : 'Implement the plan.'}\n\n${input.tools ? toolTaskText(input.repo.testCommand, input.tools.workdir) : CODE_ANSWER_FORMAT}`,
  ];
  return [
    { role: 'system', content: agent.systemPrompt },
    { role: 'user', content: sections.filter(Boolean).join('\n\n') },
  ];
}
