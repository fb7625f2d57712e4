import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { FR_ID_PATTERN, Messages, type FrRefusalCode, type RefusedFrSummary } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { BusPublisher, Clock } from '@agency/messaging';
import { runWithMessageContext, withSpan, type AgencyPinoLogger } from '@agency/telemetry';
import { frIdFromFileName } from '@agency/vault';
import { VaultRepository } from '../vault/vault.repository.js';
import { RefusalRepository } from './refusal.repository.js';

/** What happens to a refused file: moved as it is, annotated and moved, or left waiting in planned. */
export type RefusalHandling = 'unchanged' | 'annotate' | 'hold';

/**
 * Refuses an FR file, visibly: the reason goes to the log, to the audit stream
 * (`orchestrator.fr-refused`, what `agency logs` shows) and to the refusals `status` and the
 * dashboard list. A file refused for its bytes or its id is moved to blocked untouched (never
 * rewritten); a broken one gets the reason in its front matter. Each file is reported once as
 * it is: a later scan of the same bytes repeats nothing.
 */
@Injectable()
export class RefusalService {
  private readonly reported = new Map<string, string>();

  constructor(
    private readonly vault: VaultRepository,
    private readonly refusals: RefusalRepository,
    private readonly bus: BusPublisher,
    private readonly clock: Clock,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  of(frId: string): Promise<RefusedFrSummary | undefined> {
    return this.refusals.get(frId);
  }

  /** The file as it is now (size and time), so the same refusal is not reported again every scan. */
  private signature(relPath: string, code: FrRefusalCode): string {
    try {
      const st = statSync(join(this.vault.root, relPath));
      return `${code}:${st.size}:${st.mtimeMs}`;
    } catch {
      return `${code}:gone`;
    }
  }

  async refuse(relPath: string, id: string | undefined, code: FrRefusalCode, problems: string[], how: RefusalHandling): Promise<'refused' | 'held'> {
    const outcome = how === 'hold' ? 'held' : 'refused';
    const signature = this.signature(relPath, code);
    if (this.reported.get(relPath) === signature) return outcome;
    const frId = id ?? frIdFromFileName(relPath);
    const reason = problems.join('; ');
    const now = this.place(relPath, how, reason);
    if (now === relPath) this.reported.set(relPath, signature);
    const refusal: RefusedFrSummary = {
      ...(frId ? { frId } : {}),
      path: relPath,
      now,
      code,
      reason: reason.slice(0, 2000),
      at: this.clock.now().toISOString(),
    };
    runWithMessageContext(frId ? { frId } : {}, () =>
      this.logger.error({ frPath: relPath, now, code, problems }, `FR file ${how === 'hold' ? 'held' : 'rejected'} (${code}): ${reason}`),
    );
    await withSpan('fr.refused', { attributes: { 'agency.fr_path': relPath, 'agency.refusal': code } }, async () => {
      await this.refusals.put(refusal);
      if (frId && FR_ID_PATTERN.test(frId)) {
        await this.bus.publish(
          Messages.FrRefused,
          {
            frId,
            sagaId: `${frId}-intake`,
            step: 'intake',
            attempt: 1,
            payload: { path: relPath, now, code, problems: problems.slice(0, 50).map((p) => p.slice(0, 2000)) },
          },
          { msgId: `fr-refused:${relPath}:${signature}` },
        );
      }
    });
    return outcome;
  }

  /** Moves the file where a person will look for it; where it is afterwards. */
  private place(relPath: string, how: RefusalHandling, reason: string): string {
    try {
      if (how === 'unchanged') return this.vault.moveUnchanged(relPath, 'blocked');
      if (how === 'annotate')
        return this.vault.update(
          relPath,
          { folder: 'blocked', fields: { blocked_reason: reason.slice(0, 500) }, log: `blocked: the agency cannot take this FR: ${reason}` },
          this.clock.now(),
        );
    } catch (e) {
      this.logger.error({ err: e, frPath: relPath }, 'could not move the refused FR to blocked');
    }
    return relPath;
  }
}
