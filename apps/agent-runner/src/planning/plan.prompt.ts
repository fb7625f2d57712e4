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
 * answer format.
 */
export function buildPlanMessages(
  agent: AgentDefinition,
  fr: FrSnapshotDto,
  repo: RepoTargetDto,
  files: readonly RepoFile[],
  instructions: ReadonlyArray<{ path: string; content: string }> = [],
): ChatMessage[] {
  const user = [
    ...(instructions.length > 0 ? [instructionsSection(instructions), ''] : []),
    `# Repository ${repo.name} at ${repo.base}`,
    '',
    `Tests run with: ${repo.testCommand}${repo.setupCommand ? ` (after setup: ${repo.setupCommand})` : ''}`,
    '',
    'Files (path and size):',
    '',
    repoMap(files),
    '',
    frSection(fr),
    '',
    '# Your answer',
    '',
    PLAN_ANSWER_FORMAT,
  ].join('\n');
  return [
    { role: 'system', content: agent.systemPrompt },
    { role: 'user', content: user },
  ];
}
