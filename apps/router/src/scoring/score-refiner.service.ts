import { Injectable } from '@nestjs/common';
import { APIError } from 'openai';
import type { FrSnapshotDto, ScoreReasonDto } from '@agency/contracts';
import { isBudgetExhausted, LlmAnswerError, type ChatMessage, type LlmClient } from '@agency/llm-client';
import type { AgencyPinoLogger } from '@agency/telemetry';
import type { RefineRequest, ScoreRefiner } from './score-refiner.js';

/** The model's answer, checked. */
export interface ScoreAdjustment {
  adjustment: number;
  reason: string;
}

export const MAX_REASON_CHARS = 500;

/** Bounds of what the user prompt carries of an FR (an FR may hold 200 criteria and 200 kB of spec). */
export const PROMPT_LIMITS = { bodyChars: 6000, items: 25, itemChars: 300 } as const;

/** Failure details are cut to this length: a reason is read in the dashboard, not a log dump. */
const MAX_FAILURE_CHARS = 400;

/**
 * Checks the model's JSON: `{ "adjustment": integer in [-max, max], "reason": non-empty string of
 * at most 500 characters }`. Throws naming the field, so LlmClient's repair turn can show it.
 * Keys beyond these two are ignored.
 */
export function parseScoreAdjustment(value: unknown, max: number): ScoreAdjustment {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('the answer must be a JSON object with "adjustment" and "reason"');
  const { adjustment, reason } = value as Record<string, unknown>;
  if (typeof adjustment !== 'number' || !Number.isInteger(adjustment))
    throw new Error(`adjustment must be an integer from -${max} to ${max} (got ${JSON.stringify(adjustment) ?? 'nothing'})`);
  if (adjustment < -max || adjustment > max) throw new Error(`adjustment must be between -${max} and ${max} (got ${adjustment})`);
  if (typeof reason !== 'string' || reason.trim() === '') throw new Error(`reason must be a non-empty string (got ${JSON.stringify(reason) ?? 'nothing'})`);
  if (reason.trim().length > MAX_REASON_CHARS) throw new Error(`reason must be at most ${MAX_REASON_CHARS} characters (got ${reason.trim().length})`);
  // `+ 0` turns -0 into 0.
  return { adjustment: adjustment + 0, reason: reason.trim() };
}

export function systemPrompt(max: number): string {
  return [
    'You check the complexity score of a feature request (FR) for an autonomous coding agency.',
    'A heuristic scored it from 0 to 100 by counting features (phases, acceptance criteria, spec length, dependencies, files named, repository size).',
    'The score picks the tier that runs the FR: its models, review rounds, plan approval and budget.',
    `Adjust the score by at most ${max} points either way where counting misjudges the real difficulty:`,
    'security-sensitive code, concurrency, data migrations, public API changes or cross-cutting edits raise it; mechanical or trivial changes lower it.',
    'Answer 0 when the score is right.',
    `Answer with only a JSON object: {"adjustment": <integer from -${max} to ${max}>, "reason": "<one sentence, at most ${MAX_REASON_CHARS} characters>"}.`,
  ].join('\n');
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function list(items: string[], bullet: (i: number) => string): string {
  if (items.length === 0) return '(none)';
  const shown = items.slice(0, PROMPT_LIMITS.items).map((item, i) => `${bullet(i)} ${cut(item.trim(), PROMPT_LIMITS.itemChars)}`);
  if (items.length > PROMPT_LIMITS.items) shown.push(`(${items.length - PROMPT_LIMITS.items} more not shown)`);
  return shown.join('\n');
}

export function userPrompt(fr: FrSnapshotDto, heuristic: RefineRequest['heuristic']): string {
  const body = fr.body.trim();
  const spec =
    body.length > PROMPT_LIMITS.bodyChars
      ? `Spec (the first ${PROMPT_LIMITS.bodyChars} of ${body.length} characters):\n${body.slice(0, PROMPT_LIMITS.bodyChars)}`
      : `Spec:\n${body || '(empty)'}`;
  return [
    `${fr.id}: ${fr.title}`,
    `Repository: ${fr.repo}`,
    `Heuristic score: ${heuristic.score}/100`,
    'Heuristic reasons:',
    ...heuristic.reasons.map((r) => `- ${r.feature}: ${r.points} points (${r.detail})`),
    '',
    'Phases:',
    list(fr.phases, (i) => `${i + 1}.`),
    '',
    'Acceptance criteria:',
    list(fr.acceptanceCriteria, () => '-'),
    '',
    `Depends on: ${fr.dependsOn.length ? fr.dependsOn.join(', ') : '(nothing)'}`,
    '',
    spec,
  ].join('\n');
}

/** Why a refinement call gave nothing usable, in a line for the reason. */
export function describeRefinementFailure(error: unknown): string {
  if (isBudgetExhausted(error)) return `the LLM gateway refused the call, budget used up (${(error as Error).message})`;
  if (error instanceof LlmAnswerError) return error.message;
  if (error instanceof APIError && typeof error.status === 'number') return `the LLM gateway answered HTTP ${error.status}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The model refinement: one LlmClient.chatJson call through the gateway (one repair turn when
 * the answer is not the JSON asked for). Without a gateway configured (LLM_GATEWAY_URL unset)
 * it skips, warning once.
 */
@Injectable()
export class ModelScoreRefiner implements ScoreRefiner {
  private warnedUnconfigured = false;

  constructor(
    private readonly llm: Pick<LlmClient, 'chatJson'> | undefined,
    private readonly logger: Pick<AgencyPinoLogger, 'warn'>,
  ) {}

  async refine({ fr, heuristic, model, maxAdjustment, ctx }: RefineRequest): Promise<ScoreReasonDto> {
    if (!this.llm) {
      if (!this.warnedUnconfigured) {
        this.warnedUnconfigured = true;
        this.logger.warn({ model }, 'routing.refine_model is set but LLM_GATEWAY_URL is not: scores stay heuristic');
      }
      return { feature: 'model', points: 0, detail: 'model refinement skipped: LLM_GATEWAY_URL not set' };
    }
    const messages: ChatMessage[] = [
      { role: 'system', content: systemPrompt(maxAdjustment) },
      { role: 'user', content: userPrompt(fr, heuristic) },
    ];
    try {
      const { value } = await this.llm.chatJson({ model, messages, temperature: 0, maxTokens: 400 }, (v) => parseScoreAdjustment(v, maxAdjustment), ctx, {
        repairTurns: 1,
        shape: '{"adjustment": <integer>, "reason": "..."}',
      });
      return { feature: 'model', points: value.adjustment, detail: `${model}: ${value.reason}` };
    } catch (err) {
      const why = cut(describeRefinementFailure(err), MAX_FAILURE_CHARS);
      const skipped = isBudgetExhausted(err) ? 'skipped' : 'failed';
      // The message only: an SDK error also carries the response's headers and body.
      this.logger.warn({ model, frId: fr.id, error: why }, `score refinement ${skipped}; the heuristic score stands`);
      return { feature: 'model', points: 0, detail: `model refinement ${skipped} (${model}): ${why}; heuristic score kept` };
    }
  }
}
