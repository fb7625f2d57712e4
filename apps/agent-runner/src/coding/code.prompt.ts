import { posix } from 'node:path';
import type { FrSnapshotDto, RepoTargetDto, ReviewFindingDto } from '@agency/contracts';
import type { ChatMessage } from '@agency/llm-client';
import type { AgentDefinition } from '@agency/vault';
import type { Plan } from '../planning/plan.answer.js';
import { fileView, VIEW_LIMITS } from '../prompts/file-view.js';
import { fence, frSection, instructionsSection, repoMap, type RepoFile } from '../prompts/prompt-parts.js';

export const CODE_ANSWER_FORMAT =
  'Answer with one JSON object and nothing else: {"summary": "<what you changed>", "files": [{"path": "relative/path", "content": "<the whole new content of the file>"}]}. ' +
  'List only files you create or change, each once, with its complete content; paths are relative to the repository root.';

/** What was installed for the agent's commands, and whether it has a network (never, during the agent phase). */
export interface EnvironmentNote {
  /** The repository's setup command, when it has one. */
  setupCommand?: string;
  /** How setup went for this job: `ran` (now), `restored` (from the cache), `present` (installed earlier in the job), `failed`. */
  setup?: 'ran' | 'restored' | 'present' | 'failed';
  /** How the tests went at the base before any change (baselineText). */
  baseline?: string;
}

function environmentText(env: EnvironmentNote | undefined): string {
  const baseline = env?.baseline ? ` ${env.baseline}` : '';
  return `${setupText(env)}${baseline}`;
}

function setupText(env: EnvironmentNote | undefined): string {
  if (!env?.setupCommand) return 'The sandbox has no network.';
  if (env.setup === 'failed') return `The repository's setup (\`${env.setupCommand}\`) failed, so its dependencies may be missing; the sandbox has no network.`;
  const how = env.setup === 'restored' ? 'were restored from the cache' : 'were installed';
  return `The repository's dependencies ${how} by its setup (\`${env.setupCommand}\`) before you started, so the test runner and tools are there; the sandbox has no network, so nothing more can be installed (add a dependency to the manifest only if the feature request needs it: the tests install it).`;
}

/** How the tool loop is explained; a whole-files JSON answer stays acceptable for models that cannot call tools. */
export function toolTaskText(testCommand: string, workdir: string, env?: EnvironmentNote): string {
  return (
    `Work with the tools; each change is committed at once, and paths are relative to the repository root. Run the tests (\`${testCommand}\`) with run_command: the sandbox's working directory ${workdir} is the repository. ` +
    environmentText(env) +
    ' When the work is done, call finish with a short summary of what you changed and why. ' +
    'If you cannot call tools, answer instead with one JSON object: {"summary": "...", "files": [{"path": "relative/path", "content": "<the whole new content>"}]}.'
  );
}

/** The configured lint, which the test step runs after the tests and the reviewer reads: a slip it finds would cost a round. */
function lintLine(repo: RepoTargetDto): string {
  const lint = repo.lintCommand?.trim();
  return lint ? `\nLint runs with: ${lint} (in the test step, after the tests; its result goes to the reviewer, so run it before you finish)` : '';
}

export const CONTEXT_LIMITS = { files: 16, fileBytes: 400_000, totalChars: 60_000, testFailureChars: 12_000 } as const;

/** A file shown up front: one to change (whole, or its outline when long), or a neighbour to imitate (its start). */
export interface ContextFile {
  path: string;
  content: string;
  purpose: 'change' | 'imitate';
  /** The planner read it: shown whole up to VIEW_LIMITS.plannerReadChars, not as an outline the coder would read again. */
  readByPlanner?: boolean;
}

/** An earlier attempt of this round that stopped, whose commits the round continues from. */
export interface ResumeNote {
  attempt: number;
  reason: string;
  commits: string[];
}

export interface CodePromptInput {
  fr: FrSnapshotDto;
  repo: RepoTargetDto;
  plan: Plan;
  round: number;
  /** The repository at the round's starting commit. */
  tree: readonly RepoFile[];
  /** Files the change is likely to touch or imitate, as they are now. */
  contents: ReadonlyArray<ContextFile>;
  findings: readonly ReviewFindingDto[];
  testFailures?: string;
  /** With tools the task says how to use them; without, the one-shot JSON answer is asked for. */
  tools?: { workdir: string };
  /** The repository's own instructions for agents (AGENTS.md and the like). */
  instructions?: ReadonlyArray<{ path: string; content: string }>;
  environment?: EnvironmentNote;
  resume?: ResumeNote;
}

/**
 * Files worth showing the coder up front: those the plan and the findings name (when they exist),
 * to change; and for each file to be created one existing neighbour to imitate. Nothing else is
 * preloaded (a manifest the plan does not name cost every turn of a replayed run 1,200 characters):
 * the map lists every file and read_file shows the rest.
 */
export function contextPaths(
  plan: Plan,
  findings: readonly ReviewFindingDto[],
  tree: readonly RepoFile[],
  max: number = CONTEXT_LIMITS.files,
  plannerRead: readonly string[] = [],
): Array<{ path: string; purpose: 'change' | 'imitate' }> {
  const existing = new Set(tree.map((f) => f.path));
  // What the plan and the findings name, then what the planner read (it read them for a reason: a trial's coder read one again).
  // A whole-change finding names no file (`""`): read as a file to create, it offered a root file to imitate (a trial's .editorconfig).
  const wanted = [...plan.steps.flatMap((s) => s.files), ...findings.map((f) => f.file), ...plannerRead]
    .map((p) => p.trim().replace(/^\.\//, ''))
    .filter((p) => p !== '' && p !== '.');
  const out: Array<{ path: string; purpose: 'change' | 'imitate' }> = [];
  const add = (p: string, purpose: 'change' | 'imitate') => {
    if (existing.has(p) && !out.some((o) => o.path === p) && out.length < max) out.push({ path: p, purpose });
  };
  for (const p of wanted) add(p, 'change');
  for (const p of wanted.filter((w) => !existing.has(w))) {
    const dir = posix.dirname(p);
    const ext = posix.extname(p);
    const siblings = tree
      .filter((f) => posix.dirname(f.path) === dir)
      .map((f) => f.path)
      .sort();
    const neighbour = siblings.find((s) => posix.extname(s) === ext) ?? siblings[0];
    if (neighbour) add(neighbour, 'imitate');
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

/**
 * The files to show, less those shown whole already among the repository's instructions (a
 * finding about AGENTS.md put it in a trial's prompt twice, ~1,000 tokens a turn); their paths
 * are named so the coder knows they are to change.
 */
function withoutInstructions(
  contents: ReadonlyArray<ContextFile>,
  instructions: ReadonlyArray<{ path: string; content: string }>,
): { shown: ContextFile[]; above: string[] } {
  const same = new Map(instructions.map((f) => [f.path, f.content.trim()]));
  const above = contents.filter((f) => same.get(f.path) === f.content.trim()).map((f) => f.path);
  return { shown: contents.filter((f) => !above.includes(f.path)), above };
}

function filesSection(all: ReadonlyArray<ContextFile>, totalChars: number, instructions: ReadonlyArray<{ path: string; content: string }> = []): string {
  const { shown: contents, above } = withoutInstructions(all, instructions);
  const aboveNote = above.length > 0 ? `${above.join(', ')}: as shown above among the repository's instructions (the same file).` : '';
  if (contents.length === 0) return aboveNote ? `# Current files\n\n${aboveNote}` : '';
  const parts: string[] = [
    '# Current files',
    '',
    'With line numbers (not part of the files). Long files are shown as an outline or their first lines: read_file shows the rest.',
    '',
    ...(aboveNote ? [aboveNote, ''] : []),
  ];
  let used = 0;
  const left: string[] = [];
  for (const f of contents) {
    const view = fileView(f.path, f.content, { purpose: f.purpose, ...(f.readByPlanner ? { wholeChars: VIEW_LIMITS.plannerReadChars } : {}) });
    if (used + view.text.length > totalChars) {
      left.push(f.path);
      continue;
    }
    used += view.text.length;
    parts.push(`## ${f.path}${f.purpose === 'imitate' ? ' (an existing file to imitate)' : ''}`, '', fence(view.text), '');
  }
  if (left.length > 0) parts.push(`(Not shown, to keep the prompt short: ${left.join(', ')}; read_file them.)`, '');
  return parts.join('\n');
}

function findingsSection(findings: readonly ReviewFindingDto[]): string {
  if (findings.length === 0) return '';
  const lines = ['# Review findings to address', ''];
  for (const f of findings) {
    const where = f.file ? (f.line !== undefined ? `${f.file}:${f.line}` : f.file) : '(the whole change)';
    lines.push(`- [${f.severity}${f.blocking ? ', blocking' : ''}] ${where}: ${f.message}${f.suggestion ? ` Suggestion: ${f.suggestion}` : ''}`);
  }
  return lines.join('\n');
}

function resumeSection(resume: ResumeNote | undefined): string {
  if (!resume) return '';
  const commits = resume.commits.length > 0 ? resume.commits.map((c) => `- ${c}`).join('\n') : '- (none)';
  return `# Resuming\n\nAttempt ${resume.attempt} of this round stopped (${resume.reason}) after these commits, which are kept; the files above show their result:\n\n${commits}\n\nContinue from there: check what is done, finish what is left, and do not start over.`;
}

/** The setup command beside the test command, unless the task below spells it out already. */
function setupAside(input: CodePromptInput): string {
  if (!input.repo.setupCommand) return '';
  return input.tools && input.environment?.setupCommand ? ' (after the setup named in your task)' : ` (after setup: ${input.repo.setupCommand})`;
}

/**
 * The tester's excerpt within `max` characters: its verdict lines (`[test command "npm test"
 * exited with code 1]`, `[failing: ...]`) and the output's end. Cutting from the front alone lost
 * the exit code, all there is to go on when no parser read the output.
 */
export function failureTail(text: string, max: number): string {
  if (text.length <= max) return text;
  const verdict = /^(?:\[[^\n]*\]\n){1,2}/.exec(text)?.[0] ?? '';
  const head = verdict.length <= max / 4 ? verdict : '';
  const room = max - head.length;
  return `${head}[... ${text.length - head.length - room} characters of test output cut ...]\n${text.slice(-room)}`;
}

/**
 * The coder's conversation: the vault's system prompt, then one user message whose stable part
 * comes first (the repository's own instructions and map: the same for every FR on this base, so a
 * provider's prompt cache can hold it) and the FR's part after (FR, plan, current files, what to fix).
 */
export function buildCodeMessages(agent: AgentDefinition, input: CodePromptInput): ChatMessage[] {
  const fixing = input.findings.length > 0 || !!input.testFailures;
  const sections = [
    instructionsSection(input.instructions ?? []),
    `# Repository ${input.repo.name}\n\nTests run with: ${input.repo.testCommand}${setupAside(input)}${lintLine(input.repo)}\n\nFiles (path and size):\n\n${repoMap(input.tree)}`,
    frSection(input.fr),
    planSection(input.plan),
    filesSection(input.contents, CONTEXT_LIMITS.totalChars, input.instructions),
    resumeSection(input.resume),
    findingsSection(input.findings),
    input.testFailures ? `# Failing tests of the previous round\n\n${fence(failureTail(input.testFailures, CONTEXT_LIMITS.testFailureChars))}` : '',
    `# Your task\n\nRound ${input.round}. ${fixing ? "The files above already hold the earlier rounds' work; fix what the findings and failing tests show, and keep the rest." : 'Implement the plan.'}\n\n${input.tools ? toolTaskText(input.repo.testCommand, input.tools.workdir, input.environment) : CODE_ANSWER_FORMAT}`,
  ];
  return [
    { role: 'system', content: agent.systemPrompt },
    { role: 'user', content: sections.filter(Boolean).join('\n\n') },
  ];
}
