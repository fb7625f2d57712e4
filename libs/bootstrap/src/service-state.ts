import type { JetStreamServer } from '@agency/messaging';

/** What the health endpoint reports on: filled in by runService as the process starts. */
export class ServiceState {
  /** Who answers: reported on /health so a caller knows which process it reached. */
  identity: { service: string; instance: string; stack?: string } = { service: 'unknown', instance: 'unknown' };
  transport?: JetStreamServer;
  startedAt = new Date();
  ready = false;
  /** Extra readiness checks an app registers (e.g. the vault is readable). */
  readonly checks = new Map<string, () => Promise<string | undefined>>();
}
