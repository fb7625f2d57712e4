import type { FrSnapshotDto, RepoTargetDto } from '@agency/contracts';
import type { ChatMessage } from '@agency/llm-client';
import type { AgentDefinition } from '@agency/vault';
import { frSection, instructionsSection, repoMap, type RepoFile } from '../prompts/prompt-parts.js';

export const PLAN_ANSWER_FORMAT =
  'Answer with one JSON object and nothing else: {"summary": "<one paragraph>", "steps": [{"title": "...", "files": ["path", ...], "detail": "..."}], "risks": ["..."]}. ' +
  'Paths are relative to the repository root.';

/**
 * The planner's conversation: the vault's system prompt, then the repository (its instructions
 * for agents and its map at the base: the stable part first, for prompt caches), the FR, and the
 * answer format (with what it may read first, when it has tools).
 */
export function buildPlanMessages(
  agent: AgentDefinition,
  fr: FrSnapshotDto,
  repo: RepoTargetDto,
  files: readonly RepoFile[],
  instructions: ReadonlyArray<{ path: string; content: string }> = [],
  reading: { tools: readonly string[]; turns: number } = { tools: [], turns: 1 },
): ChatMessage[] {
  const user = [
    ...(instructions.length > 0 ? [instructionsSection(instructions), ''] : []),
    `# Repository ${repo.name} at ${repo.base}`,
    '',
    `Tests run with: ${repo.testCommand}${repo.setupCommand ? ` (after setup: ${repo.setupCommand})` : ''}`,
    // The lint gates the change as the tests do: a plan that ignores it costs a fix round (pathe trial).
    ...(repo.lintCommand?.trim() ? [`Lint runs with: ${repo.lintCommand.trim()} (after the tests; the reviewer reads its result)`] : []),
    '',
    'Files (path and size):',
    '',
    repoMap(files),
    '',
    frSection(fr),
    '',
    '# Your answer',
    '',
    ...(reading.tools.length > 0 ? [readingNote(reading.tools, reading.turns), ''] : []),
    PLAN_ANSWER_FORMAT,
  ].join('\n');
  return [
    { role: 'system', content: agent.systemPrompt },
    { role: 'user', content: user },
  ];
}

/** What the planner is told when it may read before answering. */
function readingNote(tools: readonly string[], turns: number): string {
  return (
    `Before you answer you may read the repository at this commit with ${tools.join(', ')}: read what you need to name the right files and functions, not everything. ` +
    `You have ${turns} turns in all, the last one for the answer; answer as soon as you know enough.`
  );
}
