import { Inject, Injectable } from '@nestjs/common';
import type { RepoTargetDto } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { Clock } from '@agency/messaging';
import { runWithMessageContext, traceparentOf, tracer, withSpan, type AgencyPinoLogger } from '@agency/telemetry';
import { cloneUrlOf, frIdFromFileName, FrParseError, type AgencyConfig, type ParsedFr } from '@agency/vault';
import { SagaRepository } from '../saga/saga.repository.js';
import type { SagaRecord } from '../saga/saga.model.js';
import { SagaService } from '../saga/saga.service.js';
import { isTerminal } from '../saga/saga.machine.js';
import { VaultRepository } from '../vault/vault.repository.js';

export type IntakeOutcome = 'started' | 'resumed' | 'waiting' | 'rejected' | 'busy';

/** How `agency go` overrides the normal intake. */
export interface GoOptions {
  tier?: string;
}

export class GoError extends Error {
  constructor(
    message: string,
    readonly status: 404 | 409,
  ) {
    super(message);
  }
}

/**
 * Takes planned FR files: a valid one becomes a saga (exactly once per run), a broken one is
 * annotated and moved to blocked with the reason, one whose dependencies are not done waits.
 */
@Injectable()
export class IntakeService {
  private readonly inFlight = new Set<string>();
  private readonly waitingLogged = new Set<string>();

  constructor(
    private readonly vault: VaultRepository,
    private readonly sagas: SagaRepository,
    private readonly saga: SagaService,
    private readonly clock: Clock,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  /** Looks at every file in the planned folder; safe to call as often as wanted. */
  async scan(): Promise<Record<string, IntakeOutcome>> {
    const out: Record<string, IntakeOutcome> = {};
    for (const path of this.vault.list('planned')) out[path] = await this.take(path);
    return out;
  }

  async take(relPath: string, go?: GoOptions): Promise<IntakeOutcome> {
    if (this.inFlight.has(relPath)) return 'busy';
    this.inFlight.add(relPath);
    try {
      return await this.takeOnce(relPath, go);
    } finally {
      this.inFlight.delete(relPath);
    }
  }

  /**
   * `agency go FR-x [--tier t]`: takes the FR now, from whichever waiting folder it is in, at
   * critical priority, without waiting for its dependencies.
   */
  async go(frId: string, options: GoOptions): Promise<{ sagaId: string; outcome: IntakeOutcome }> {
    const index = await this.sagas.currentRun(frId);
    const current = index ? await this.sagas.get(index.value.sagaId) : undefined;
    if (current && !isTerminal(current.value.state)) throw new GoError(`${frId} is already running (${current.value.state}, saga ${current.value.sagaId})`, 409);
    const folders = ['planned', 'ideas', 'specified', 'blocked', 'done'] as const;
    const path = folders.flatMap((f) => this.vault.list(f)).find((p) => p.split('/').pop()!.startsWith(`${frId}-`) || p.endsWith(`/${frId}.md`));
    if (!path) throw new GoError(`no FR file for ${frId} in 01_ideas, 02_specified, 03_planned, 09_blocked or 06_done`, 404);
    const planned = path.includes('/03_planned/') ? path : this.vault.update(path, { folder: 'planned', log: `go: taken now${options.tier ? ` on tier ${options.tier}` : ''}` }, this.clock.now());
    const outcome = await this.take(planned, options);
    const run = await this.sagas.currentRun(frId);
    if (outcome === 'rejected') throw new GoError(`${frId} cannot be taken: see the blocked_reason in its file`, 409);
    return { sagaId: run?.value.sagaId ?? '', outcome };
  }

  private async takeOnce(relPath: string, go?: GoOptions): Promise<IntakeOutcome> {
    if (!this.vault.exists(relPath)) return 'busy';
    let fr: ParsedFr;
    let config: AgencyConfig;
    let repo: RepoTargetDto;
    try {
      config = this.vault.config();
      fr = this.vault.parse(relPath);
      repo = this.repoTarget(config, fr);
    } catch (e) {
      return this.reject(relPath, e as Error);
    }
    const waitingFor = go ? [] : await this.unfinishedDependencies(fr);
    if (waitingFor.length > 0) {
      const key = `${relPath}:${waitingFor.join(',')}`;
      if (!this.waitingLogged.has(key)) {
        this.waitingLogged.add(key);
        this.logger.info({ frId: fr.id, waitingFor }, `${fr.id} waits for ${waitingFor.join(', ')}`);
      }
      return 'waiting';
    }
    const index = await this.sagas.currentRun(fr.id);
    if (index) {
      const existing = await this.sagas.get(index.value.sagaId);
      if (existing && !isTerminal(existing.value.state)) {
        if (existing.value.frPath === relPath) {
          // The saga never moved its file: a crash between claiming and moving. Carry on.
          await this.saga.syncFr(existing.value);
          await this.saga.drive(existing.value);
          return 'resumed';
        }
        // A person moved a running FR back to planned: that run stops, a new one starts with the file as it is now.
        const r = existing.value;
        await this.saga.handle({ kind: 'cancel', env: { sagaId: r.sagaId, step: r.step, attempt: r.attempt }, by: 'vault', reason: 'the FR file was moved back to 03_planned' });
      }
    }
    const run = (index?.value.run ?? 0) + 1;
    const sagaId = `${fr.id}-r${run}`;
    if (!(await this.sagas.claimRun({ frId: fr.id, sagaId, run }, index?.revision))) return 'busy';
    const record = this.newRecord(go ? { ...fr, priority: 'critical' } : fr, repo, sagaId, run);
    if (go?.tier) record.forcedTier = go.tier;
    await this.sagas.create(record);
    this.logger.info({ frId: fr.id, sagaId, traceId: record.traceId }, `${fr.id} taken: "${fr.title}"`);
    await this.saga.syncFr(record, `taken by the agency (run ${run}, trace ${this.saga.traceUrl(record) ?? record.traceId})`);
    const saved = await this.sagas.get(sagaId);
    await this.saga.drive(saved?.value ?? record);
    return 'started';
  }

  private repoTarget(config: AgencyConfig, fr: ParsedFr): RepoTargetDto {
    const repo = config.repos[fr.repo];
    if (!repo) throw new FrParseError(fr.path, [`repo: "${fr.repo}" is not configured in 40_config/agency.yaml (known: ${Object.keys(config.repos).join(', ') || 'none'})`]);
    return {
      name: fr.repo,
      cloneUrl: cloneUrlOf(config, this.vault.root, fr.repo),
      base: fr.base || repo.base,
      forge: repo.forge,
      testCommand: repo.test,
      ...(repo.setup ? { setupCommand: repo.setup } : {}),
      ...(repo.lint ? { lintCommand: repo.lint } : {}),
    };
  }

  private async unfinishedDependencies(fr: ParsedFr): Promise<string[]> {
    const waiting: string[] = [];
    for (const dep of fr.dependsOn) {
      const index = await this.sagas.currentRun(dep);
      const saga = index ? await this.sagas.get(index.value.sagaId) : undefined;
      if (saga?.value.state === 'done') continue;
      if (this.vault.isDone(dep)) continue;
      waiting.push(dep);
    }
    return waiting;
  }

  private newRecord(fr: ParsedFr, repo: RepoTargetDto, sagaId: string, run: number): SagaRecord {
    const now = this.clock.now().toISOString();
    // The FR's root span, ended at once: it is the parent every step of the FR hangs under.
    const root = tracer().startSpan(`FR ${fr.id}`, { root: true, attributes: { 'agency.fr_id': fr.id, 'agency.saga_id': sagaId, 'agency.fr_title': fr.title, 'agency.repo': fr.repo } });
    const traceparent = traceparentOf(root);
    const traceId = root.spanContext().traceId;
    root.end();
    const { status: _status, extra: _extra, ...snapshot } = fr;
    return {
      sagaId,
      frId: fr.id,
      run,
      state: 'discovered',
      step: 'route',
      attempt: 1,
      stepStartedAt: now,
      fr: snapshot,
      frPath: fr.path,
      repo,
      traceparent,
      traceId,
      round: 0,
      reviews: [],
      lastFindings: [],
      costUsd: 0,
      history: [],
      createdAt: now,
      updatedAt: now,
    };
  }

  /** A file the agency cannot take: say why in the log and in the file, then move it to blocked. */
  private reject(relPath: string, error: Error): IntakeOutcome {
    const problems = error instanceof FrParseError ? error.problems : [error.message];
    const frId = frIdFromFileName(relPath);
    runWithMessageContext(frId ? { frId } : {}, () => this.logger.error({ frPath: relPath, problems }, `FR file rejected: ${problems.join('; ')}`));
    void withSpan('fr.rejected', { attributes: { 'agency.fr_path': relPath } }, async () => undefined);
    try {
      this.vault.update(relPath, { folder: 'blocked', fields: { blocked_reason: problems.join('; ').slice(0, 500) }, log: `blocked: the agency cannot take this FR: ${problems.join('; ')}` }, this.clock.now());
    } catch (e) {
      this.logger.error({ err: e, frPath: relPath }, 'could not move the rejected FR to blocked');
    }
    return 'rejected';
  }
}
