// Valid sample payloads for every message: tests start from these and break one field at a time.
// Entry point @agency/contracts/testing, kept out of the main index so services never ship it.
import type { MessageName, PayloadOf } from './catalog.js';
import { Messages } from './catalog.js';
import type { Envelope } from './envelope.js';
import type { ArtifactRefDto, FrSnapshotDto, RepoTargetDto, StrategyDto, WorkspaceRefDto } from './common.dto.js';

const SHA256 = 'a'.repeat(64);
const SHA1 = 'b'.repeat(40);

export const sampleArtifact = (key = 'FR-1/saga-1/plan.json'): ArtifactRefDto => ({ key, size: 10, sha256: SHA256, contentType: 'application/json' });

export const sampleFr = (): FrSnapshotDto => ({
  id: 'FR-1',
  title: 'Add a greeting',
  priority: 'medium',
  repo: 'example/greeter',
  base: 'main',
  phases: ['Phase 1: add greet()'],
  dependsOn: [],
  acceptanceCriteria: ['greet("Ada") returns "Hello, Ada!"'],
  body: '## Problem\nNo greeting.\n',
  path: '10_features/03_planned/FR-1-greeting.md',
  contentHash: SHA256,
});

export const sampleRepo = (): RepoTargetDto => ({
  name: 'example/greeter',
  cloneUrl: '/tmp/forge/example/greeter.git',
  base: 'main',
  forge: 'local',
  testCommand: 'npm test',
});

export const sampleStrategy = (): StrategyDto => ({
  tier: 'small',
  plannerModel: 'planner',
  coderModel: 'coder',
  reviewerModel: 'reviewer',
  reviewRounds: 2,
  planApproval: false,
  autoMerge: false,
  budgetUsd: 5,
});

export const sampleWorkspace = (): WorkspaceRefDto => ({
  branch: 'agency/FR-1-add-a-greeting',
  baseSha: SHA1,
  headSha: 'c'.repeat(40),
  bundle: sampleArtifact('FR-1/saga-1/code-r1.bundle'),
});

const counts = { total: 3, passed: 3, failed: 0, skipped: 0 };
const finding = { file: 'src/greet.js', line: 3, severity: 'minor' as const, message: 'Name could be trimmed', blocking: false };
const deadLettered = { originalSubject: 'agency.cmd.router.score.v1', reason: 'handler threw: boom', deliveries: 5, streamSeq: 12 };
const stepFailed = { code: 'PLAN_INVALID', reason: 'planner answer was not valid JSON', retryable: false };

export const samplePayloads: { [K in MessageName]: PayloadOf<(typeof Messages)[K]> } = {
  GateApprove: { gate: 'plan', by: 'ada' },
  GateReject: { gate: 'pr', by: 'ada', comment: 'not now' },
  FrStateChanged: { from: 'coding', to: 'testing', costUsd: 0.01, traceId: 'd'.repeat(32) },
  FrRefused: {
    path: '10_features/03_planned/FR-1-greeting.md',
    now: '10_features/09_blocked/FR-1-greeting.md',
    code: 'DUPLICATE_ID',
    problems: ['id: FR-1 is already taken by 10_features/04_in_progress/FR-1-hello.md'],
  },
  ScoreFr: { fr: sampleFr() },
  FrScored: { score: 12, tier: 'small', strategy: sampleStrategy(), reasons: [{ feature: 'phases', points: 4, detail: '1 phase' }] },
  RouterStepFailed: stepFailed,
  EnqueueJob: { repo: 'example/greeter', priority: 'medium', tier: 'small' },
  CompleteJob: { outcome: 'succeeded' },
  CancelJob: { reason: 'user asked' },
  JobQueued: { jobId: 'job-1', position: 0 },
  JobDispatched: { jobId: 'job-1', waitedMs: 5 },
  JobFinished: { jobId: 'job-1', outcome: 'succeeded' },
  Plan: { fr: sampleFr(), repo: sampleRepo(), strategy: sampleStrategy() },
  Code: { fr: sampleFr(), repo: sampleRepo(), strategy: sampleStrategy(), plan: sampleArtifact(), round: 1, findings: [] },
  Test: { repo: sampleRepo(), workspace: sampleWorkspace(), round: 1 },
  Cleanup: { reason: 'saga done' },
  Planned: { plan: sampleArtifact(), summary: 'Add greet()', stepCount: 2 },
  Coded: {
    round: 1,
    workspace: sampleWorkspace(),
    diff: sampleArtifact('FR-1/saga-1/code-r1.diff'),
    filesChanged: ['src/greet.js'],
    commits: 1,
    summary: 'Added greet()',
  },
  Tested: {
    round: 1,
    passed: true,
    exitCode: 0,
    timedOut: false,
    counts,
    format: 'node',
    durationMs: 120,
    report: sampleArtifact(),
    headSha: 'c'.repeat(40),
    failureExcerpt: '',
  },
  Cleaned: { removed: true },
  AgentHeartbeat: { message: 'running tests' },
  AgentStepFailed: stepFailed,
  Review: {
    fr: sampleFr(),
    repo: sampleRepo(),
    strategy: sampleStrategy(),
    round: 1,
    plan: sampleArtifact(),
    diff: sampleArtifact('d.diff'),
    workspace: sampleWorkspace(),
    tests: { passed: true, counts, format: 'node', report: sampleArtifact('t.json') },
  },
  Reviewed: { round: 1, verdict: 'approve', confidence: 0.9, summary: 'Looks right', findings: [finding], report: sampleArtifact('r.json') },
  ReviewerStepFailed: stepFailed,
  OpenPr: {
    fr: sampleFr(),
    repo: sampleRepo(),
    workspace: sampleWorkspace(),
    draft: false,
    labels: ['agency'],
    context: { planSummary: 'Add greet()', testSummary: '3 passed', reviewRounds: ['round 1: approve (0.9)'], costUsd: 0.02, traceId: 'd'.repeat(32) },
  },
  MergePr: { repo: sampleRepo(), number: 1, method: 'merge' },
  ClosePr: { repo: sampleRepo(), number: 1, reason: 'cancelled by ada: not needed', deleteBranch: true },
  DeleteBranch: { repo: sampleRepo(), branch: 'agency/FR-1-add-a-greeting' },
  PrOpened: { number: 1, url: 'local://example/greeter/pulls/1', branch: 'agency/FR-1-add-a-greeting', headSha: SHA1, draft: false, created: true },
  PrMerged: { number: 1, url: 'local://example/greeter/pulls/1', mergeSha: SHA1 },
  PrClosed: { number: 1, url: 'local://example/greeter/pulls/1' },
  PrReviewed: { number: 1, state: 'changes_requested', author: 'ada', body: 'Please trim the name' },
  BranchDeleted: { branch: 'agency/FR-1-add-a-greeting', deleted: true },
  GitStepFailed: stepFailed,
  LlmUsage: {
    alias: 'coder',
    provider: 'scripted',
    model: 'script',
    inputTokens: 10,
    cachedInputTokens: 0,
    outputTokens: 5,
    costUsd: 0,
    latencyMs: 1,
    status: 'ok',
  },
  OrchestratorDeadLettered: deadLettered,
  RouterDeadLettered: deadLettered,
  RegistryDeadLettered: deadLettered,
  AgentDeadLettered: deadLettered,
  ReviewerDeadLettered: deadLettered,
  GitDeadLettered: deadLettered,
  GatewayDeadLettered: deadLettered,
};

let counter = 0;
/** A valid envelope for the named message; ids are unique per call. */
export function sampleEnvelope<K extends MessageName>(
  name: K,
  overrides: Partial<Envelope<PayloadOf<(typeof Messages)[K]>>> = {},
): Envelope<PayloadOf<(typeof Messages)[K]>> {
  const def = Messages[name];
  counter += 1;
  const hex = counter.toString(16).padStart(12, '0');
  return {
    id: `00000000-0000-4000-8000-${hex}`,
    type: def.type,
    version: def.version,
    frId: 'FR-1',
    sagaId: 'saga-1',
    jobId: 'job-1',
    step: 'plan',
    attempt: 1,
    occurredAt: new Date(Date.UTC(2026, 10, 24, 8, 0, 0)).toISOString(),
    payload: structuredClone(samplePayloads[name]),
    ...overrides,
  };
}
