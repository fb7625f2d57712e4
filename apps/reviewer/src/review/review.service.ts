import { Inject, Injectable } from '@nestjs/common';
import type { ArtifactRefDto, Envelope, ReviewCommand, ReviewedEvent, StepFailedEvent } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { LlmClient, type ChatResult } from '@agency/llm-client';
import { ArtifactStore, Clock, RetryableError } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { checkDiff, checkTests } from '../checks/basic.checks.js';
import { checkForbiddenPaths, forbiddenPatterns } from '../checks/forbidden-paths.check.js';
import { checkSecrets, redactSecrets } from '../checks/secrets.check.js';
import { changedPaths, DiffParseError, parseUnifiedDiff, type ParsedDiff } from '../diff/unified-diff.parser.js';
import { LintCheck } from '../lint/lint.check.js';
import { classifyLlmFailure, type LlmFailure } from '../llm/llm-failure.js';
import { parseReviewAnswer, REVIEW_SHAPE } from '../llm/review-answer.validator.js';
import { buildReviewPrompt, DEFAULT_PROMPT_LIMITS, type EarlierByChecks } from '../llm/review-prompt.builder.js';
import { ReviewerConfig } from '../reviewer.config.js';
import { selectRules } from '../vault/rule.selector.js';
import { ReviewerVaultRepository } from '../vault/reviewer-vault.repository.js';
import { filterFindings, modelFindings } from './finding.filter.js';
import { toDto, type CheckResult, type ModelReview } from './review.model.js';
import { diffFilesSummary, REPORT_VERSION, reportKey, type ReviewOutcome, type ReviewReport, type StoredOutcome } from './review.report.js';
import { decideVerdict } from './verdict.policy.js';

const MAX_SUMMARY = 10_000;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * The review step (FR-057): deterministic checks first (tests, diff, forbidden paths, secrets,
 * the repository's lint). When one of them blocks, the verdict is request-changes and the model
 * is not asked at all. Otherwise the reviewer model reviews against the vault's rules, then the
 * noise filter and the verdict policy decide. The full report goes to the artifact store; the
 * outcome is returned for the handler to publish.
 */
@Injectable()
export class ReviewService {
  constructor(
    private readonly vault: ReviewerVaultRepository,
    private readonly artifacts: ArtifactStore,
    private readonly llm: LlmClient,
    private readonly clock: Clock,
    private readonly config: ReviewerConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
    @Inject(LintCheck) private readonly lint: Pick<LintCheck, 'run'>,
  ) {}

  async review(env: Envelope<ReviewCommand>): Promise<{ outcome: ReviewOutcome; report: ArtifactRefDto }> {
    const cmd = env.payload;
    // Vault problems throw: the transport retries, then dead-letters with the file and problem named.
    const agent = this.vault.agent();
    const rules = this.vault.rules();
    const settings = this.vault.settings();

    const diffText = await this.artifacts.getText(cmd.diff);
    const planText = await this.artifacts.getText(cmd.plan);
    const diffBytes = Buffer.byteLength(diffText, 'utf8');
    let parsed: ParsedDiff | undefined;
    let parseError: string | undefined;
    try {
      parsed = parseUnifiedDiff(diffText);
    } catch (e) {
      if (!(e instanceof DiffParseError)) throw e;
      parseError = e.message;
    }

    const { patterns, lockFilesAllowed } = forbiddenPatterns(cmd.fr, settings.forbiddenPaths);
    const diffCheck = checkDiff(
      { bytes: diffBytes, ...(parsed ? { parsed } : {}), ...(parseError !== undefined ? { parseError } : {}) },
      this.config.MAX_DIFF_BYTES,
    );
    const checks: CheckResult[] = [checkTests(cmd.tests), diffCheck, checkForbiddenPaths(parsed, patterns, lockFilesAllowed), checkSecrets(parsed)];
    // Lint needs a change to lint: an empty, unreadable or oversized diff already blocks.
    checks.push(
      diffCheck.passed ? await this.lint.run(cmd) : { id: 'lint', passed: true, detail: 'not run: the diff check already blocks the change', findings: [] },
    );
    const checkFindings = checks.flatMap((c) => c.findings);
    const selection = selectRules(rules, parsed ? changedPaths(parsed) : []);
    const blockingChecks = [...new Set(checkFindings.filter((f) => f.blocking).map((f) => f.check ?? 'check'))];

    const alias = cmd.strategy.reviewerModel || agent.model;
    let answer: { value: ModelReview; result: ChatResult; repaired: boolean; problems?: string[] } | undefined;
    let failure: LlmFailure | undefined;
    let modelReport: ReviewReport['model'];
    if (blockingChecks.length > 0) {
      // Deterministic findings decide; the model would only cost money and add noise.
      modelReport = { alias, skipped: `not asked: the ${blockingChecks.join(', ')} check(s) already block the change` };
    } else {
      const redacted = redactSecrets(diffText);
      const testOutputTail = cmd.tests.format === 'unparsed' ? await this.testOutputTail(cmd.tests.report) : undefined;
      const earlierByChecks = cmd.earlier ? await this.earlierByChecks(env.frId, env.sagaId, cmd.earlier.round) : undefined;
      const { prompt, diff: promptDiff } = buildReviewPrompt(
        {
          fr: cmd.fr,
          plan: planText,
          diff: redacted.text,
          tests: cmd.tests,
          checks,
          rules: selection.applied,
          round: cmd.round,
          ...(cmd.coderSummary ? { coderSummary: cmd.coderSummary } : {}),
          ...(cmd.earlier ? { earlier: cmd.earlier } : {}),
          ...(earlierByChecks ? { earlierByChecks } : {}),
          ...(testOutputTail ? { testOutputTail: redactSecrets(testOutputTail).text } : {}),
        },
        { ...DEFAULT_PROMPT_LIMITS, diffBytes: this.config.MAX_PROMPT_DIFF_BYTES },
      );
      try {
        answer = await this.llm.chatJson(
          {
            model: alias,
            messages: [
              { role: 'system', content: agent.systemPrompt },
              { role: 'user', content: prompt },
            ],
            maxTokens: agent.maxTokens,
            temperature: agent.temperature,
          },
          parseReviewAnswer,
          { frId: env.frId, sagaId: env.sagaId, step: env.step, ...(env.jobId ? { jobId: env.jobId } : {}), frBudgetUsd: cmd.strategy.budgetUsd },
          { repairTurns: agent.repairTurns, shape: REVIEW_SHAPE },
        );
        // A repair turn costs a whole prompt again: say why (a trial's was invisible but for a span count).
        if (answer.repaired)
          this.logger.info(
            { round: cmd.round, alias, problems: answer.problems },
            `reviewer answer refused and asked again: ${answer.problems?.join('; ') ?? ''}`,
          );
      } catch (e) {
        failure = classifyLlmFailure(e);
        if (!failure) throw new RetryableError(`reviewer model call failed: ${(e as Error).message}`);
        this.logger.warn({ code: failure.code, alias }, `reviewer model failed: ${failure.message}`);
      }
      modelReport = {
        alias,
        promptBytes: Buffer.byteLength(prompt, 'utf8'),
        redactedSecrets: redacted.count,
        promptDiff: {
          truncated: promptDiff.truncated,
          shownBytes: promptDiff.shownBytes,
          totalBytes: promptDiff.totalBytes,
          omittedFiles: promptDiff.omittedFiles,
          ...(promptDiff.partialFile ? { partialFile: promptDiff.partialFile } : {}),
        },
        ...(answer
          ? {
              respondedModel: answer.result.model,
              repaired: answer.repaired,
              ...(answer.problems?.length ? { repairProblems: answer.problems } : {}),
              inputTokens: answer.result.inputTokens,
              outputTokens: answer.result.outputTokens,
              rawAnswer: answer.result.content,
              parsed: answer.value,
            }
          : {}),
        ...(failure ? { error: { code: failure.code, message: failure.message }, ...(failure.answer !== undefined ? { rawAnswer: failure.answer } : {}) } : {}),
      };
    }

    const { kept, dropped } = filterFindings(checkFindings, answer ? modelFindings(answer.value) : [], parsed, {
      minSeverity: this.config.MIN_SEVERITY,
      minConfidence: this.config.MIN_CONFIDENCE,
    });

    const { sagaId, frId } = env;
    const base: Omit<ReviewReport, 'outcome'> = {
      version: REPORT_VERSION,
      frId,
      sagaId,
      step: env.step,
      attempt: env.attempt,
      round: cmd.round,
      reviewedAt: this.clock.now().toISOString(),
      inputs: {
        diff: { key: cmd.diff.key, bytes: diffBytes, ...(parseError !== undefined ? { parseError } : {}), files: diffFilesSummary(parsed) },
        plan: { key: cmd.plan.key },
        tests: { passed: cmd.tests.passed, counts: cmd.tests.counts, report: cmd.tests.report.key },
      },
      settings: {
        minSeverity: this.config.MIN_SEVERITY,
        minConfidence: this.config.MIN_CONFIDENCE,
        maxDiffBytes: this.config.MAX_DIFF_BYTES,
        maxPromptDiffBytes: this.config.MAX_PROMPT_DIFF_BYTES,
        forbiddenPatterns: patterns,
        lockFilesAllowed,
        source: settings.source,
      },
      checks,
      rules: { applied: selection.applied.map((r) => r.id), skipped: selection.skipped },
      model: modelReport,
      findings: { kept, dropped },
    };

    // The model was asked (no check blocks) and gave nothing usable: the saga decides what next.
    if (failure) {
      const stepFailure: StepFailedEvent = { code: failure.code, reason: clip(failure.message, 10_000), retryable: failure.retryable };
      const ref = await this.store({ ...base, outcome: { kind: 'failed', failure: stepFailure } });
      return { outcome: { kind: 'failed', failure: stepFailure }, report: ref };
    }

    const verdict = decideVerdict(answer?.value, kept);
    const model = answer?.value;
    const summaryParts = [
      verdict.verdict !== model?.verdict ? `${verdict.verdict}: ${verdict.reason}.` : '',
      model ? model.summary : 'The model was not asked: deterministic checks already block the change.',
    ];
    const event: Omit<ReviewedEvent, 'report'> = {
      round: cmd.round,
      verdict: verdict.verdict,
      confidence: verdict.confidence,
      summary: clip(summaryParts.filter(Boolean).join(' '), MAX_SUMMARY),
      findings: kept.map(toDto),
      rules: {
        applied: selection.applied.slice(0, 100).map((r) => clip(r.id, 200)),
        skipped: selection.skipped.slice(0, 100).map((r) => ({ id: clip(r.id, 200), reason: clip(r.reason, 1000) })),
      },
      ...(model && model.verdict !== verdict.verdict ? { modelVerdict: model.verdict } : {}),
    };
    const ref = await this.store({
      ...base,
      outcome: { kind: 'reviewed', event },
      verdict: {
        final: verdict.verdict,
        confidence: verdict.confidence,
        reason: verdict.reason,
        ...(model ? { model: { verdict: model.verdict, confidence: model.confidence } } : {}),
      },
    });
    this.logger.info(
      {
        round: cmd.round,
        verdict: verdict.verdict,
        confidence: verdict.confidence,
        kept: kept.length,
        dropped: dropped.length,
        blocking: kept.filter((f) => f.blocking).length,
      },
      `review round ${cmd.round}: ${verdict.verdict} (${verdict.reason})`,
    );
    return { outcome: { kind: 'reviewed', event: { ...event, report: ref } }, report: ref };
  }

  /** The outcome a stored report recorded: how a redelivered command answers without a second review. */
  async outcomeOf(ref: ArtifactRefDto): Promise<ReviewOutcome> {
    const report = await this.artifacts.getJson<ReviewReport>(ref);
    const stored: StoredOutcome = report.outcome;
    return stored.kind === 'reviewed' ? { kind: 'reviewed', event: { ...stored.event, report: ref } } : stored;
  }

  /** The end of the test output from the test report, when the counts cannot say what ran; nothing when the report cannot be read. */
  private async testOutputTail(ref: ArtifactRefDto): Promise<string | undefined> {
    try {
      const report = await this.artifacts.getJson<{ outputTail?: unknown }>(ref);
      return typeof report.outputTail === 'string' && report.outputTail.trim() ? report.outputTail.slice(-3000) : undefined;
    } catch (err) {
      this.logger.warn({ err, report: ref.key }, 'test report not readable; reviewing without the test output');
      return undefined;
    }
  }

  /**
   * Whether the previous round's review was the deterministic checks' alone (the model not asked),
   * read from this saga's earlier reports, and then whether a model reviewed any round before it.
   * Undefined when a model reviewed the previous round or its report cannot be read: the prompt
   * then says what it always said.
   */
  private async earlierByChecks(frId: string, sagaId: string, round: number): Promise<EarlierByChecks | undefined> {
    try {
      const models = async (r: number): Promise<ReviewReport['model'] | undefined> => {
        const found = await this.artifacts.find(reportKey(frId, sagaId, r));
        return found ? (JSON.parse(new TextDecoder().decode(found.data)) as Partial<ReviewReport>).model : undefined;
      };
      if ((await models(round))?.skipped === undefined) return undefined;
      for (let r = round - 1; r >= 1; r -= 1) {
        const model = await models(r);
        if (model?.parsed !== undefined) return { first: false, lastModelRound: r };
        // A round whose report says nothing either way: no claim that this is the first model review.
        if (model?.skipped === undefined) return { first: false };
      }
      return { first: true };
    } catch (err) {
      this.logger.warn({ err, round }, "earlier review report not readable; the prompt frames the earlier round as a model's review");
      return undefined;
    }
  }

  private store(report: ReviewReport): Promise<ArtifactRefDto> {
    return this.artifacts.putJson(reportKey(report.frId, report.sagaId, report.round), report);
  }
}
