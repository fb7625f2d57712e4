import { Injectable } from '@nestjs/common';
import {
  codeStep,
  PLAN_STEP,
  reviewStep,
  testStep,
  type FrWork,
  type ReviewView,
  type RoundWork,
  type SagaRecordView,
  type TestRunView,
  type TranscriptView,
} from '@agency/contracts';
import { ArtifactStore } from '@agency/messaging';
import { splitDiff } from './diff-files.js';

/** The part of the orchestrator's saga record the workbench needs to find a run's artifacts. */
export type RunRecord = Pick<SagaRecordView, 'frId' | 'sagaId' | 'round'> & Partial<Pick<SagaRecordView, 'tries'>>;

/** Larger diffs are cut to their first files (a browser shows 2 MB of patch badly anyway). */
const MAX_DIFF_BYTES = 2_000_000;

/** How the agent-runner names a step's artifact: attempt 1 plain, later ones with `-a<n>` (steps/artifact-keys.ts). */
function keyOf(r: RunRecord, base: string, ext: string, attempt: number): string {
  return `${r.frId}/${r.sagaId}/${base}${attempt > 1 ? `-a${attempt}` : ''}.${ext}`;
}

/**
 * A run's work from the artifact store, for the dashboard: the plan whole, and per round the diff
 * file by file, the test report, the review and the coder's transcript. Each artifact is found
 * by the key its writer gives it, newest attempt first (an attempt that failed wrote none).
 */
@Injectable()
export class WorkService {
  constructor(private readonly artifacts: ArtifactStore) {}

  async work(r: RunRecord): Promise<FrWork> {
    const problems: string[] = [];
    const read = async <T>(what: string, keys: string[], parse: (text: string) => T): Promise<{ value: T; key: string } | undefined> => {
      for (const key of keys) {
        try {
          const found = await this.artifacts.find(key);
          if (found) return { value: parse(new TextDecoder().decode(found.data)), key };
        } catch (e) {
          problems.push(`${what} (${key}): ${(e as Error).message}`);
          return undefined;
        }
      }
      return undefined;
    };
    const attempts = (step: string) => Array.from({ length: Math.max(1, r.tries?.[step] ?? 1) }, (_, i) => Math.max(1, r.tries?.[step] ?? 1) - i);
    const plan = await read(
      'plan',
      attempts(PLAN_STEP).map((a) => keyOf(r, PLAN_STEP, 'json', a)),
      (t) => JSON.parse(t) as FrWork['plan'],
    );
    const rounds: RoundWork[] = [];
    for (let round = 1; round <= r.round; round += 1) {
      const code = codeStep(round);
      const test = testStep(round);
      const diff = await read(
        `round ${round} diff`,
        attempts(code).map((a) => keyOf(r, code, 'diff', a)),
        (t) => t,
      );
      const tests = await read(
        `round ${round} tests`,
        attempts(test).map((a) => keyOf(r, test, 'json', a)),
        (t) => testView(JSON.parse(t)),
      );
      const review = await read(`round ${round} review`, [`${r.frId}/${r.sagaId}/${reviewStep(round)}.json`], (t) => reviewView(JSON.parse(t)));
      const transcript = await this.transcriptAttempt(r, round, attempts(code));
      rounds.push({
        round,
        ...(diff ? { diff: { files: splitDiff(diff.value.slice(0, MAX_DIFF_BYTES)), bytes: diff.value.length } } : {}),
        ...(tests ? { tests: tests.value } : {}),
        ...(review ? { review: review.value } : {}),
        ...(transcript ? { transcriptAttempt: transcript } : {}),
      });
    }
    return { frId: r.frId, sagaId: r.sagaId, ...(plan ? { plan: plan.value } : {}), rounds, problems };
  }

  /** The coder's transcript of a round (its newest stored attempt), or undefined. */
  async transcript(r: RunRecord, round: number): Promise<TranscriptView | undefined> {
    const code = codeStep(round);
    const top = Math.max(1, r.tries?.[code] ?? 1);
    for (let attempt = top; attempt >= 1; attempt -= 1) {
      const found = await this.artifacts.find(`${r.frId}/${r.sagaId}/${code}-a${attempt}.transcript.json`);
      if (!found) continue;
      const doc = JSON.parse(new TextDecoder().decode(found.data)) as Omit<TranscriptView, 'attempt' | 'round'>;
      return {
        round,
        attempt,
        ...(doc.running ? { running: true } : {}),
        ...(doc.outcome ? { outcome: doc.outcome } : {}),
        ...(doc.totals ? { totals: doc.totals } : {}),
        entries: doc.entries ?? [],
      };
    }
    return undefined;
  }

  private async transcriptAttempt(r: RunRecord, round: number, attempts: number[]): Promise<number | undefined> {
    for (const attempt of attempts) {
      const found = await this.artifacts.find(`${r.frId}/${r.sagaId}/${codeStep(round)}-a${attempt}.transcript.json`).catch(() => undefined);
      if (found) return attempt;
    }
    return undefined;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The tester's report (testing/tester.service.ts), shortened to what a person reads. */
export function testView(report: unknown): TestRunView {
  const r = isRecord(report) ? report : {};
  const tests = Array.isArray(r.tests) ? (r.tests as unknown[]).filter(isRecord) : [];
  return {
    passed: r.passed === true,
    ...(typeof r.command === 'string' ? { command: r.command } : {}),
    ...(typeof r.exitCode === 'number' || r.exitCode === null ? { exitCode: r.exitCode as number | null } : {}),
    ...(typeof r.timedOut === 'boolean' ? { timedOut: r.timedOut } : {}),
    ...(typeof r.durationMs === 'number' ? { durationMs: r.durationMs } : {}),
    ...(isRecord(r.counts) ? { counts: r.counts as unknown as NonNullable<TestRunView['counts']> } : {}),
    failing: tests
      .filter((t) => t.status === 'failed')
      .map((t) => String(t.name))
      .slice(0, 100),
    ...(typeof r.outputTail === 'string' ? { outputTail: r.outputTail } : {}),
  };
}

/** The reviewer's report (review/review.report.ts): its verdict and the findings it kept. */
export function reviewView(report: unknown): ReviewView {
  const r = isRecord(report) ? report : {};
  const verdict = isRecord(r.verdict) ? r.verdict : {};
  const parsed = isRecord(r.model) && isRecord(r.model.parsed) ? r.model.parsed : {};
  const kept = isRecord(r.findings) && Array.isArray(r.findings.kept) ? (r.findings.kept as unknown[]).filter(isRecord) : [];
  return {
    ...(typeof verdict.final === 'string' ? { verdict: verdict.final } : {}),
    ...(typeof verdict.confidence === 'number' ? { confidence: verdict.confidence } : {}),
    ...(typeof verdict.reason === 'string' ? { reason: verdict.reason } : {}),
    ...(typeof parsed.summary === 'string' ? { summary: parsed.summary } : {}),
    findings: kept.map((f) => ({
      file: String(f.file ?? ''),
      ...(typeof f.line === 'number' ? { line: f.line } : {}),
      severity: String(f.severity ?? 'info'),
      message: String(f.message ?? ''),
      ...(typeof f.suggestion === 'string' ? { suggestion: f.suggestion } : {}),
    })),
  };
}
