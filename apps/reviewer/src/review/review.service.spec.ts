import { createHash } from 'node:crypto';
import { APIConnectionError, APIError } from 'openai';
import type { ArtifactRefDto, Envelope, ReviewCommand } from '@agency/contracts';
import { sampleEnvelope } from '@agency/contracts/testing';
import { LlmClient, type ChatRequest, type ChatResult } from '@agency/llm-client';
import { ArtifactStore, Clock, PermanentError, RetryableError, type BusConnection } from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import type { AgentDefinition, ReviewRule } from '@agency/vault';
import { ReviewerConfig } from '../reviewer.config.js';
import { ReviewerVaultRepository, type ReviewSettings } from '../vault/reviewer-vault.repository.js';
import type { CheckResult } from './review.model.js';
import type { ReviewReport } from './review.report.js';
import { ReviewService } from './review.service.js';

class MemoryArtifacts extends ArtifactStore {
  readonly objects = new Map<string, Uint8Array>();
  constructor() {
    // Never opens the object store: get and put are replaced below.
    super(undefined as unknown as BusConnection);
  }
  override async put(key: string, data: Uint8Array | string, contentType: string): Promise<ArtifactRefDto> {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    this.objects.set(key, bytes);
    return { key, size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex'), contentType };
  }
  override async get(ref: ArtifactRefDto): Promise<Uint8Array> {
    const data = this.objects.get(ref.key);
    if (!data) throw new PermanentError(`artifact ${ref.key} does not exist`, 'ARTIFACT_MISSING');
    return data;
  }
  override async find(key: string): Promise<{ ref: ArtifactRefDto; data: Uint8Array } | undefined> {
    const data = this.objects.get(key);
    return data
      ? { ref: { key, size: data.byteLength, sha256: createHash('sha256').update(data).digest('hex'), contentType: 'application/json' }, data }
      : undefined;
  }
  report(key: string): ReviewReport {
    return JSON.parse(new TextDecoder().decode(this.objects.get(key))) as ReviewReport;
  }
}

/** The real chatJson (with its repair attempt) over scripted replies. */
class ScriptedLlm extends LlmClient {
  readonly requests: ChatRequest[] = [];
  constructor(private readonly replies: (string | Error)[]) {
    super({ baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'unused' });
  }
  override async chat(request: ChatRequest): Promise<ChatResult> {
    this.requests.push(request);
    const next = this.replies.shift();
    if (next === undefined) throw new Error('no scripted reply left');
    if (next instanceof Error) throw next;
    return { content: next, model: 'scripted/reviewer', inputTokens: 100, outputTokens: 20 };
  }
}

class FixedVault extends ReviewerVaultRepository {
  constructor(private readonly forbidden: string[] = []) {
    super(new ReviewerConfig());
  }
  override agent(): AgentDefinition {
    return {
      role: 'reviewer',
      model: 'reviewer',
      maxSteps: 1,
      maxTokens: 2048,
      temperature: 0,
      tools: [],
      systemPrompt: 'You review changes. Answer JSON.',
      repairTurns: 2,
      condenseAfterChars: 60_000,
      repeatLimit: 3,
    };
  }
  override rules(): ReviewRule[] {
    return [
      { id: 'tests-required', title: 'New behaviour has tests', severity: 'major', appliesTo: ['src/**'], text: 'Every new function has a test.' },
      { id: 'docs-only', title: 'Docs style', severity: 'minor', appliesTo: ['docs/**'], text: 'Docs are short.' },
    ];
  }
  override settings(): ReviewSettings {
    return { forbiddenPaths: this.forbidden, source: 'test' };
  }
}

class FixedClock extends Clock {
  override now(): Date {
    return new Date('2026-01-02T03:04:05.000Z');
  }
}

/** The lint check's answer, set per test; records what it was asked to lint. */
class FakeLint {
  result: CheckResult = { id: 'lint', passed: true, detail: 'no lint command configured (repos.example/greeter.lint)', findings: [] };
  readonly calls: string[] = [];
  run(cmd: Pick<ReviewCommand, 'repo' | 'tests'>): CheckResult {
    this.calls.push(cmd.tests.report.key);
    return this.result;
  }
}

const TOKEN = `ghp_${'Z9y8X7w6V5'.repeat(3)}abcdef`;
const CLEAN_DIFF =
  'diff --git a/src/farewell.js b/src/farewell.js\nnew file mode 100644\n--- /dev/null\n+++ b/src/farewell.js\n@@ -0,0 +1,3 @@\n+export function farewell(name) {\n+  return `Goodbye, ${name}!`;\n+}\n';
const TOKEN_DIFF = `diff --git a/src/config.js b/src/config.js\nnew file mode 100644\n--- /dev/null\n+++ b/src/config.js\n@@ -0,0 +1,2 @@\n+// Settings.\n+export const token = '${TOKEN}';\n`;
const APPROVE = JSON.stringify({
  verdict: 'approve',
  confidence: 0.92,
  summary: 'Matches the FR.',
  findings: [{ file: 'src/farewell.js', line: 2, severity: 'info', message: 'Consider trimming.' }],
});

describe('ReviewService', () => {
  let artifacts: MemoryArtifacts;
  let lint: FakeLint;
  const config = Object.assign(new ReviewerConfig(), { VAULT_PATH: '/vault', LLM_GATEWAY_URL: 'http://x/v1', LLM_GATEWAY_API_KEY: 'k' });
  const logger = createLogger({ service: 'reviewer', level: 'silent' });

  async function command(diff: string, over: Partial<ReviewCommand> = {}): Promise<Envelope<ReviewCommand>> {
    const env = sampleEnvelope('Review', { frId: 'FR-7', sagaId: 'saga-7', step: 'review-r1' });
    const diffRef = await artifacts.put('FR-7/saga-7/code-r1.diff', diff, 'text/x-diff');
    const planRef = await artifacts.putJson('FR-7/saga-7/plan.json', { summary: 'Add farewell()', steps: [] });
    env.payload = { ...env.payload, diff: diffRef, plan: planRef, ...over };
    env.payload.strategy = { ...env.payload.strategy, reviewerModel: 'reviewer-strong' };
    return env;
  }

  function service(llm: LlmClient, vault = new FixedVault()): ReviewService {
    return new ReviewService(vault, artifacts, llm, new FixedClock(), config, logger, lint);
  }

  beforeEach(() => {
    artifacts = new MemoryArtifacts();
    lint = new FakeLint();
  });

  it('approves a clean change the model approves, and stores the full report', async () => {
    const llm = new ScriptedLlm([APPROVE]);
    const { outcome, report } = await service(llm).review(await command(CLEAN_DIFF));
    expect(outcome.kind).toBe('reviewed');
    if (outcome.kind !== 'reviewed') return;
    expect(outcome.event).toMatchObject({ round: 1, verdict: 'approve', confidence: 0.92, summary: 'Matches the FR.', findings: [] });
    expect(report.key).toBe('FR-7/saga-7/review-r1.json');
    expect(outcome.event.report).toEqual(report);

    const stored = artifacts.report(report.key);
    expect(stored.checks.map((c) => [c.id, c.passed])).toEqual([
      ['tests', true],
      ['diff', true],
      ['forbidden-paths', true],
      ['secrets', true],
      ['lint', true],
    ]);
    expect(stored.rules).toEqual({ applied: ['tests-required'], skipped: [{ id: 'docs-only', reason: 'no changed file matches docs/**' }] });
    // The event carries them too: the saga shows a rule that was not applied in the FR log and the PR.
    expect(outcome.event.rules).toEqual(stored.rules);
    // The model's verdict stood: nothing to say about it.
    expect(outcome.event).not.toHaveProperty('modelVerdict');
    expect(stored.model).toMatchObject({ alias: 'reviewer-strong', respondedModel: 'scripted/reviewer', repaired: false, rawAnswer: APPROVE });
    expect(stored.findings.dropped.map((d) => d.reason)).toEqual(['severity info is below MIN_SEVERITY minor']);
    expect(stored.reviewedAt).toBe('2026-01-02T03:04:05.000Z');

    const [request] = llm.requests;
    expect(request!.model).toBe('reviewer-strong');
    expect(request!.messages[0]).toEqual({ role: 'system', content: 'You review changes. Answer JSON.' });
    const user = String(request!.messages[1]!.content);
    expect(user).toContain('## tests-required: New behaviour has tests');
    expect(user).not.toContain('docs-only');
    expect(user).toContain('# Plan\n\n```\nAdd farewell()');
    expect(user.endsWith('Round: 1')).toBe(true);
  });

  it("names the model's verdict when a blocking finding overturns its approval", async () => {
    const approveWithMajor = JSON.stringify({
      verdict: 'approve',
      confidence: 0.9,
      summary: 'Fine.',
      findings: [{ file: 'src/farewell.js', line: 2, severity: 'major', message: 'Trim the name.' }],
    });
    const { outcome } = await service(new ScriptedLlm([approveWithMajor])).review(await command(CLEAN_DIFF));
    if (outcome.kind !== 'reviewed') throw new Error('expected a review');
    expect(outcome.event).toMatchObject({ verdict: 'request-changes', modelVerdict: 'approve' });
  });

  it('requests changes for an added token without asking the model', async () => {
    const llm = new ScriptedLlm([APPROVE]);
    const { outcome, report } = await service(llm).review(await command(TOKEN_DIFF));
    if (outcome.kind !== 'reviewed') throw new Error('expected a review');
    expect(llm.requests).toEqual([]);
    expect(outcome.event.verdict).toBe('request-changes');
    expect(outcome.event.confidence).toBe(1);
    expect(outcome.event.summary).toBe(
      'request-changes: 1 blocking check finding(s) (secrets). The model was not asked: deterministic checks already block the change.',
    );
    expect(outcome.event.findings).toEqual([expect.objectContaining({ file: 'src/config.js', line: 2, severity: 'critical', blocking: true })]);
    expect(JSON.stringify(outcome.event)).not.toContain(TOKEN);
    expect(artifacts.report(report.key).model).toEqual({ alias: 'reviewer-strong', skipped: 'not asked: the secrets check(s) already block the change' });
  });

  it('never sends a secret from the diff to the model, even one the change removes', async () => {
    const removal = `diff --git a/src/config.js b/src/config.js\n--- a/src/config.js\n+++ b/src/config.js\n@@ -1,2 +1,2 @@\n // Settings.\n-export const token = '${TOKEN}';\n+export const token = process.env.TOKEN;\n`;
    const llm = new ScriptedLlm([APPROVE]);
    const { report } = await service(llm).review(await command(removal));
    const prompt = String(llm.requests[0]!.messages[1]!.content);
    expect(prompt).not.toContain(TOKEN);
    expect(prompt).toContain("-export const token = '[redacted github-token]';");
    expect(artifacts.report(report.key).model.redactedSecrets).toBe(1);
  });

  it.each([
    [
      'a change to a CI workflow',
      CLEAN_DIFF.replaceAll('src/farewell.js', '.github/workflows/ci.yml'),
      'forbidden-paths',
      { file: '.github/workflows/ci.yml', severity: 'critical' },
    ],
    ['an empty diff', '', 'diff', { file: '', severity: 'major', message: 'The change is empty: the diff touches no file.' }],
    ['a configured forbidden path', CLEAN_DIFF.replaceAll('src/farewell.js', 'infra/deploy.sh'), 'forbidden-paths', { file: 'infra/deploy.sh' }],
  ])('flags %s without asking the model', async (_what, diff, check, expected) => {
    const llm = new ScriptedLlm([APPROVE]);
    const { outcome, report } = await service(llm, new FixedVault(['infra/**'])).review(await command(diff));
    if (outcome.kind !== 'reviewed') throw new Error('expected a review');
    expect(llm.requests).toEqual([]);
    expect(outcome.event).toMatchObject({ verdict: 'request-changes', confidence: 1 });
    expect(outcome.event.findings[0]).toMatchObject({ ...expected, blocking: true });
    expect(artifacts.report(report.key).checks.find((c) => c.id === check)).toMatchObject({ passed: false });
  });

  it('flags a failing test report without asking the model', async () => {
    const tests = {
      passed: false,
      counts: { total: 2, passed: 1, failed: 1, skipped: 0 },
      format: 'node' as const,
      report: (await command(CLEAN_DIFF)).payload.tests.report,
    };
    const llm = new ScriptedLlm([APPROVE]);
    const { outcome } = await service(llm).review(await command(CLEAN_DIFF, { tests }));
    if (outcome.kind !== 'reviewed') throw new Error('expected a review');
    expect(llm.requests).toEqual([]);
    expect(outcome.event.verdict).toBe('request-changes');
    expect(outcome.event.findings[0]).toMatchObject({ severity: 'critical', blocking: true, message: expect.stringContaining('1/2 passed, 1 failed') });
  });

  it('runs lint on a usable change: a failing lint blocks without the model, a passing one lets the model review', async () => {
    lint.result = {
      id: 'lint',
      passed: false,
      detail: '`npm run lint` failed (exit 1, 0.4 s)',
      findings: [
        {
          file: '',
          severity: 'major',
          message: 'The lint command `npm run lint` failed (exit 1):\n\nsrc/farewell.js:2 no-var',
          blocking: true,
          confidence: 1,
          source: 'check',
          check: 'lint',
        },
      ],
    };
    const llm = new ScriptedLlm([APPROVE]);
    const failed = await service(llm).review(await command(CLEAN_DIFF));
    if (failed.outcome.kind !== 'reviewed') throw new Error('expected a review');
    expect(llm.requests).toEqual([]);
    expect(failed.outcome.event.summary).toMatch(/^request-changes: 1 blocking check finding\(s\) \(lint\)\./);
    expect(lint.calls).toHaveLength(1);

    lint.result = { id: 'lint', passed: true, detail: '`npm run lint` passed (0.3 s)', findings: [] };
    const passed = await service(llm).review(await command(CLEAN_DIFF));
    expect(passed.outcome).toMatchObject({ kind: 'reviewed', event: { verdict: 'approve' } });
    expect(String(llm.requests[0]!.messages[1]!.content)).toContain('- lint: passed (`npm run lint` passed (0.3 s))');

    // No change to lint: the diff check blocks and lint is not run.
    await service(llm).review(await command(''));
    expect(lint.calls).toHaveLength(2);
  });

  it("reports a retryable step failure when the answer stays invalid after the agent's repair turns", async () => {
    const llm = new ScriptedLlm(['not json', '{"verdict": "maybe"}', '{"verdict": "ok"}']);
    const { outcome, report } = await service(llm).review(await command(CLEAN_DIFF));
    expect(llm.requests).toHaveLength(3);
    expect(outcome.kind).toBe('failed');
    if (outcome.kind !== 'failed') return;
    expect(outcome.failure.code).toBe('LLM_ANSWER_INVALID');
    expect(outcome.failure.retryable).toBe(true);
    expect(outcome.failure.reason).toContain('verdict: must be one of approve, request-changes, reject (got "ok")');
    const stored = artifacts.report(report.key);
    expect(stored.model.rawAnswer).toBe('{"verdict": "ok"}');
    expect(stored.outcome).toEqual({ kind: 'failed', failure: outcome.failure });
  });

  it("tells the first model to review the change that the previous round was the checks' alone (relay trial commander.js)", async () => {
    const llm = new ScriptedLlm([APPROVE, APPROVE]);
    // Round 1: a check blocks, the model is not asked.
    const r1 = await service(llm).review(await command(TOKEN_DIFF));
    expect(llm.requests).toHaveLength(0);
    const earlier = { round: 1, verdict: 'request-changes' as const, findings: r1.outcome.kind === 'reviewed' ? r1.outcome.event.findings : [] };
    await service(llm).review(await command(CLEAN_DIFF, { round: 2, earlier, coderSummary: 'Moved the token to the environment.' }));
    const r2 = String(llm.requests[0]!.messages[1]!.content);
    expect(r2).toContain('# The previous round (round 1: request-changes, by the deterministic checks alone)\n\nNo model reviewed round 1');
    expect(r2).toContain('This is the first model review of the change');
    expect(r2).not.toContain('# The previous review');

    // Round 3 after the model's review of round 2 (its report stored above): the prompt says what it always said.
    expect(artifacts.report('FR-7/saga-7/review-r2.json').model.parsed).toBeDefined();
    await service(llm).review(await command(CLEAN_DIFF, { round: 3, earlier: { ...earlier, round: 2 } }));
    expect(String(llm.requests[1]!.messages[1]!.content)).toContain('# The previous review (round 2: request-changes)\n\nIts findings');
  });

  it('frames the previous round as a model review when its report cannot be read', async () => {
    const llm = new ScriptedLlm([APPROVE]);
    await service(llm).review(await command(CLEAN_DIFF, { round: 2, earlier: { round: 1, verdict: 'request-changes', findings: [] } }));
    expect(String(llm.requests[0]!.messages[1]!.content)).toContain('# The previous review (round 1: request-changes)');
  });

  it('records why an answer was refused and asked again, in the stored report', async () => {
    const llm = new ScriptedLlm(['{"verdict": "maybe"}', APPROVE]);
    const { outcome, report } = await service(llm).review(await command(CLEAN_DIFF));
    expect(outcome.kind).toBe('reviewed');
    const stored = artifacts.report(report.key);
    expect(stored.model).toMatchObject({
      repaired: true,
      repairProblems: [expect.stringContaining('verdict: must be one of approve, request-changes, reject (got "maybe")')],
    });
  });

  it('retries transient model failures through the transport', async () => {
    const llm = new ScriptedLlm([new APIConnectionError({ message: 'Connection error.' })]);
    await expect(service(llm).review(await command(CLEAN_DIFF))).rejects.toBeInstanceOf(RetryableError);
  });

  it('reports a request the gateway refuses as a step failure', async () => {
    const llm = new ScriptedLlm([new APIError(401, { message: 'bad key' }, 'bad key', new Headers())]);
    const { outcome } = await service(llm).review(await command(CLEAN_DIFF));
    expect(outcome).toMatchObject({ kind: 'failed', failure: { code: 'LLM_REQUEST_REJECTED', retryable: false } });
  });

  it('answers a redelivery from the stored report', async () => {
    const svc = service(new ScriptedLlm([APPROVE]));
    const first = await svc.review(await command(TOKEN_DIFF));
    expect(await svc.outcomeOf(first.report)).toEqual(first.outcome);
  });
});
