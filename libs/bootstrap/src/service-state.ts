import type { JetStreamServer } from '@agency/messaging';

/** What the health endpoint reports on: filled in by runService as the process starts. */
export class ServiceState {
  transport?: JetStreamServer;
  startedAt = new Date();
  ready = false;
  /** Extra readiness checks an app registers (e.g. the vault is readable). */
  readonly checks = new Map<string, () => Promise<string | undefined>>();
}
