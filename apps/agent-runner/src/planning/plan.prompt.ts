import type { FrSnapshotDto, RepoTargetDto } from '@agency/contracts';
import type { ChatMessage } from '@agency/llm-client';
import type { AgentDefinition } from '@agency/vault';
import { frSection, repoMap, type RepoFile } from '../prompts/prompt-parts.js';

export const PLAN_ANSWER_FORMAT =
  'Answer with one JSON object and nothing else: {"summary": "<one paragraph>", "steps": [{"title": "...", "files": ["path", ...], "detail": "..."}], "risks": ["..."]}. ' +
  'Paths are relative to the repository root.';

/** The planner's conversation: the vault's system prompt, then the FR and a map of the repository at the base. */
export function buildPlanMessages(agent: AgentDefinition, fr: FrSnapshotDto, repo: RepoTargetDto, files: readonly RepoFile[]): ChatMessage[] {
  const user = [
    frSection(fr),
    '',
    `# Repository ${repo.name} at ${repo.base}`,
    '',
    `Tests run with: ${repo.testCommand}${repo.setupCommand ? ` (after setup: ${repo.setupCommand})` : ''}`,
    '',
    'Files (path and size):',
    '',
    repoMap(files),
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
