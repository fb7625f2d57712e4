import { Inject, Injectable } from '@nestjs/common';
import type { FrRefusalCode, RepoTargetDto } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { Clock } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { cloneUrlOf, FrParseError, type AgencyConfig, type ParsedFr } from '@agency/vault';
import { OrchestratorConfig } from '../orchestrator.config.js';
import { SagaRepository } from '../saga/saga.repository.js';
import { isTerminal } from '../saga/saga.machine.js';
import { VaultRepository } from '../vault/vault.repository.js';
import { cycleThrough } from './dependencies.js';
import { RefusalService } from './refusal.service.js';
import { RunStarter } from './run-starter.service.js';

/** `settling`: a file that does not parse yet but was written moments ago, looked at again once it settles. */
export const INTAKE_OUTCOMES = ['started', 'resumed', 'waiting', 'held', 'refused', 'busy', 'settling'] as const;
export type IntakeOutcome = (typeof INTAKE_OUTCOMES)[number];

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
 * Takes planned FR files, each judged on its own so that no file can stop the others: a valid
 * one becomes a saga (exactly once per run); a file too large, binary, unreadable or reusing
 * another file's id is refused untouched; a broken one or one in a cycle of depends_on is
 * annotated and moved to blocked; one whose dependencies are not done waits (reported when a
 * dependency is unknown).
 */
@Injectable()
export class IntakeService {
  private readonly inFlight = new Set<string>();
  private readonly waitingLogged = new Set<string>();

  constructor(
    private readonly vault: VaultRepository,
    private readonly sagas: SagaRepository,
    private readonly refusals: RefusalService,
    private readonly runs: RunStarter,
    private readonly clock: Clock,
    private readonly config: OrchestratorConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  /** Looks at every file in the planned folder; safe to call as often as wanted. One file's failure never stops the scan. */
  async scan(): Promise<Record<string, IntakeOutcome | 'failed'>> {
    const out: Record<string, IntakeOutcome | 'failed'> = {};
    for (const path of this.vault.list('planned')) {
      out[path] = await this.take(path).catch((e: Error) => {
        this.logger.error({ err: e, frPath: path }, 'taking an FR file failed; the scan goes on and the next one tries again');
        return 'failed' as const;
      });
    }
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
    const current = await this.sagas.currentOf(frId);
    if (current && !isTerminal(current.value.state))
      throw new GoError(`${frId} is already running (${current.value.state}, saga ${current.value.sagaId})`, 409);
    const path = this.vault.filesOf(frId).find((f) => ['planned', 'ideas', 'specified', 'blocked', 'done'].includes(f.folder))?.path;
    if (!path) throw new GoError(`no FR file for ${frId} in 01_ideas, 02_specified, 03_planned, 09_blocked or 06_done`, 404);
    const planned = path.includes('/03_planned/')
      ? path
      : this.vault.update(path, { folder: 'planned', log: `go: taken now${options.tier ? ` on tier ${options.tier}` : ''}` }, this.clock.now());
    const outcome = await this.take(planned, options);
    if (outcome === 'refused' || outcome === 'held')
      throw new GoError(`${frId} cannot be taken: ${(await this.refusals.of(frId))?.reason ?? 'see the blocked_reason in its file'}`, 409);
    return { sagaId: (await this.sagas.currentRun(frId))?.value.sagaId ?? '', outcome };
  }

  private async takeOnce(relPath: string, go?: GoOptions): Promise<IntakeOutcome> {
    if (!this.vault.exists(relPath)) return 'busy';
    const read = this.vault.read(relPath, this.config.FR_MAX_BYTES);
    if ('code' in read) return this.refusals.refuse(relPath, undefined, read.code, [read.problem], 'unchanged');
    let fr: ParsedFr;
    let repo: RepoTargetDto;
    try {
      fr = this.vault.parse(relPath, read.text);
      repo = this.repoTarget(this.vault.config(), fr);
    } catch (e) {
      if (!go && this.clock.nowMs() - read.modifiedMs < this.config.FR_SETTLE_MS) return 'settling';
      return this.refusals.refuse(relPath, undefined, 'INVALID', e instanceof FrParseError ? e.problems : [(e as Error).message], 'annotate');
    }
    const other = await this.duplicateOf(fr.id, relPath);
    if (other)
      return this.refusals.refuse(relPath, fr.id, 'DUPLICATE_ID', [`id: ${fr.id} is already used by ${other}; give this FR an id of its own`], 'unchanged');
    if (!go) {
      const held = await this.dependencies(fr, relPath);
      if (held) return held;
    }
    return this.runs.start(relPath, fr, repo, go);
  }

  /** Another file that holds this id: the running run's file, or any file in the FR folders named by it. */
  private async duplicateOf(frId: string, relPath: string): Promise<string | undefined> {
    const current = await this.sagas.currentOf(frId);
    const running = current && !isTerminal(current.value.state) ? current.value.frPath : undefined;
    if (running && running !== relPath && this.vault.exists(running)) return running;
    return this.vault.filesOf(frId).find((f) => f.path !== relPath)?.path;
  }

  /** Waiting for depends_on: undefined when all are done; a cycle is refused, an unknown one reported. */
  private async dependencies(fr: ParsedFr, relPath: string): Promise<IntakeOutcome | undefined> {
    const waitingFor = await this.unfinished(fr.dependsOn);
    if (waitingFor.length === 0) return undefined;
    const cycle = cycleThrough(fr.id, (id) => (id === fr.id ? fr.dependsOn : this.declaredDependsOn(id)));
    if (cycle)
      return this.refusals.refuse(
        relPath,
        fr.id,
        'DEPENDENCY_CYCLE',
        [`depends_on: ${cycle.join(' -> ')} is a cycle; none of them can ever start`],
        'annotate',
      );
    const unknown: string[] = [];
    for (const dep of waitingFor) if (!(await this.sagas.currentRun(dep)) && this.vault.filesOf(dep).length === 0) unknown.push(dep);
    const code: FrRefusalCode = 'DEPENDENCY_UNKNOWN';
    if (unknown.length > 0)
      return this.refusals.refuse(
        relPath,
        fr.id,
        code,
        unknown.map((d) => `depends_on: ${d} is not an FR of this vault (no file in 10_features, no run); ${fr.id} waits until there is one`),
        'hold',
      );
    const key = `${relPath}:${waitingFor.join(',')}`;
    if (!this.waitingLogged.has(key)) {
      this.waitingLogged.add(key);
      this.logger.info({ frId: fr.id, waitingFor }, `${fr.id} waits for ${waitingFor.join(', ')}`);
    }
    return 'waiting';
  }

  private async unfinished(deps: readonly string[]): Promise<string[]> {
    const waiting: string[] = [];
    for (const dep of deps) {
      if ((await this.sagas.currentOf(dep))?.value.state === 'done') continue;
      if (this.vault.isDone(dep)) continue;
      waiting.push(dep);
    }
    return waiting;
  }

  /** The depends_on an FR's file declares, wherever it waits (planned, or blocked as part of a cycle); unparseable, absent or done: none. */
  private declaredDependsOn(frId: string): string[] {
    const file = this.vault.filesOf(frId).find((f) => f.folder !== 'done');
    if (!file) return [];
    const read = this.vault.read(file.path, this.config.FR_MAX_BYTES);
    if ('code' in read) return [];
    try {
      return this.vault.parse(file.path, read.text).dependsOn;
    } catch {
      return [];
    }
  }

  private repoTarget(config: AgencyConfig, fr: ParsedFr): RepoTargetDto {
    const repo = config.repos[fr.repo];
    if (!repo)
      throw new FrParseError(fr.path, [
        `repo: "${fr.repo}" is not configured in 40_config/agency.yaml (known: ${Object.keys(config.repos).join(', ') || 'none'})`,
      ]);
    return {
      name: fr.repo,
      cloneUrl: cloneUrlOf(config, this.vault.root, fr.repo),
      base: fr.base || repo.base,
      forge: repo.forge,
      testCommand: repo.test,
      ...(repo.setup ? { setupCommand: repo.setup } : {}),
      ...(repo.lint ? { lintCommand: repo.lint } : {}),
      ...(repo.test_report ? { testReport: repo.test_report } : {}),
    };
  }
}
