import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Messages,
  STREAMS,
  type ArtifactRefDto,
  type ClosePrCommand,
  type DeadLetteredEvent,
  type DeleteBranchCommand,
  type Envelope,
  type MergePrCommand,
  type OpenPrCommand,
  type PayloadOf,
  type RepoTargetDto,
} from '@agency/contracts';
import { sampleEnvelope } from '@agency/contracts/testing';
import { runService, type RunningService } from '@agency/bootstrap';
import { ArtifactStore, BusConnection, BusPublisher, Clock } from '@agency/messaging';
import { expectEventually, freePort, readStream, startNatsServer, type NatsServerHandle } from '@agency/testing';
import type { PullRequestRecord } from '../../src/forge/forge.js';
import { gitServiceSpec } from '../../src/git-service.app.js';
import { createForgeFixture, type ForgeFixture } from './forge-fixture.js';

export const REPO = 'example/greeter';

/**
 * git-service booted the way main.ts boots it (runService: config, NATS, the JetStream transport,
 * HTTP), against a real nats-server and a local forge in a temp folder; plus a client
 * connection to publish commands, store bundles and read the events back.
 */
export class ServiceHarness {
  private constructor(
    readonly fixture: ForgeFixture,
    readonly nats: NatsServerHandle,
    readonly service: RunningService,
    readonly bus: BusConnection,
    readonly publisher: BusPublisher,
    readonly artifacts: ArtifactStore,
  ) {}

  /** `overrides` replace the service's environment (another vault, GitHub settings). */
  static async start(overrides: Record<string, string> = {}): Promise<ServiceHarness> {
    const fixture = createForgeFixture();
    let nats: NatsServerHandle | undefined;
    try {
      nats = await startNatsServer();
      const env = {
        NATS_URL: nats.url,
        HTTP_PORT: String(await freePort()),
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
        VAULT_PATH: fixture.vaultPath,
        WORK_DIR: fixture.workDir,
        BUS_MAX_DELIVER: '3',
        ...overrides,
      };
      const service = await runService(gitServiceSpec, env);
      const bus = await BusConnection.connect({ servers: nats.url, name: 'git-service-test' });
      const publisher = new BusPublisher(bus, new Clock());
      return new ServiceHarness(fixture, nats, service, bus, publisher, new ArtifactStore(bus));
    } catch (e) {
      await nats?.dispose();
      fixture.remove();
      throw e;
    }
  }

  async stop(): Promise<void> {
    await this.service?.close().catch(() => undefined);
    await this.bus?.close().catch(() => undefined);
    await this.nats?.dispose();
    this.fixture?.remove();
  }

  putBundle(key: string, bytes: Uint8Array): Promise<ArtifactRefDto> {
    return this.artifacts.put(key, bytes, 'application/x-git-bundle');
  }

  /** An open-pr command for FR `frId` of the example repository. */
  openPrCommand(o: {
    frId: string;
    title: string;
    sagaId: string;
    step?: string;
    attempt?: number;
    branch: string;
    headSha: string;
    bundle: ArtifactRefDto;
    reviewRounds?: string[];
    draft?: boolean;
  }): Envelope<OpenPrCommand> {
    const env = sampleEnvelope('OpenPr', { frId: o.frId, sagaId: o.sagaId, jobId: `job-${o.sagaId}`, step: o.step ?? 'open-pr', attempt: o.attempt ?? 1 });
    const p = env.payload;
    p.fr = {
      ...p.fr,
      id: o.frId,
      title: o.title,
      repo: REPO,
      base: 'main',
      acceptanceCriteria: ['farewell("Ada") returns "Goodbye, Ada!"', 'greet() is unchanged'],
      path: `10_features/03_planned/${o.frId}.md`,
    };
    p.repo = { name: REPO, cloneUrl: this.fixture.bare, base: 'main', forge: 'local', testCommand: 'npm test' };
    p.workspace = { branch: o.branch, baseSha: this.fixture.baseSha, headSha: o.headSha, bundle: o.bundle };
    p.draft = o.draft ?? false;
    p.labels = ['agency', 'tier:small'];
    p.context = {
      planSummary: 'Add src/farewell.js exporting farewell(name).',
      testSummary: 'passed: 2 passed, 0 failed, 0 skipped of 2 (round 1)',
      reviewRounds: o.reviewRounds ?? ['round 1: approve (confidence 0.92, 0 finding(s), 0 blocking): Looks right'],
      costUsd: 0.0213,
      traceId: 'e'.repeat(32),
      traceUrl: `http://localhost:16686/trace/${'e'.repeat(32)}`,
    };
    return env;
  }

  get repoTarget(): RepoTargetDto {
    return { name: REPO, cloneUrl: this.fixture.bare, base: 'main', forge: 'local', testCommand: 'npm test' };
  }

  /** The saga's close of a run's PR (and its branch, unless `deleteBranch` is false). */
  closePrCommand(o: { frId: string; sagaId: string; number: number; reason: string; deleteBranch?: boolean; step?: string }): Envelope<ClosePrCommand> {
    const env = sampleEnvelope('ClosePr', { frId: o.frId, sagaId: o.sagaId, jobId: `job-${o.sagaId}`, step: o.step ?? 'close-pr', attempt: 1 });
    env.payload = { repo: this.repoTarget, number: o.number, reason: o.reason, deleteBranch: o.deleteBranch ?? true };
    return env;
  }

  deleteBranchCommand(o: { frId: string; sagaId: string; branch: string }): Envelope<DeleteBranchCommand> {
    const env = sampleEnvelope('DeleteBranch', { frId: o.frId, sagaId: o.sagaId, jobId: `job-${o.sagaId}`, step: 'delete-branch', attempt: 1 });
    env.payload = { repo: this.repoTarget, branch: o.branch };
    return env;
  }

  mergeCommand(o: { frId: string; sagaId: string; number: number; attempt?: number }): Envelope<MergePrCommand> {
    const env = sampleEnvelope('MergePr', { frId: o.frId, sagaId: o.sagaId, jobId: `job-${o.sagaId}`, step: 'merge', attempt: o.attempt ?? 1 });
    env.payload = {
      repo: { name: REPO, cloneUrl: this.fixture.bare, base: 'main', forge: 'local', testCommand: 'npm test' },
      number: o.number,
      method: 'merge',
    };
    return env;
  }

  /**
   * Publishes commands under fresh Nats-Msg-Ids, as redeliveries past JetStream's dedupe window
   * would arrive, all at once, and waits until git-service has acked or dead-lettered each.
   */
  async deliver<D extends typeof Messages.OpenPr | typeof Messages.MergePr | typeof Messages.ClosePr | typeof Messages.DeleteBranch>(
    def: D,
    ...envs: Envelope<PayloadOf<D>>[]
  ): Promise<void> {
    const published = await Promise.all(envs.map((env) => this.publisher.publishEnvelope(def, env, { msgId: randomUUID() })));
    for (const { streamSeq, envelope } of published) {
      await expectEventually(
        async () => {
          // Acked commands leave the work-queue stream; a dead-lettered one is announced by an event.
          const gone = await this.bus.jsm.streams.getMessage(STREAMS.commands.name, { seq: streamSeq }).then(
            (m) => m === null,
            () => true,
          );
          if (gone) return;
          const dead = await this.events<DeadLetteredEvent>(Messages.GitDeadLettered.type, envelope.sagaId);
          if (!dead.some((e) => e.payload.streamSeq === streamSeq)) throw new Error(`command #${streamSeq} is neither acked nor dead-lettered yet`);
        },
        { timeoutMs: 30_000, message: `command ${envelope.type} #${streamSeq} handled` },
      );
    }
  }

  /** git-service's events, oldest first, optionally of one type and saga. */
  async events<P>(type?: string, sagaId?: string): Promise<Envelope<P>[]> {
    const stored = await readStream(this.bus.js, STREAMS.events.name, 'agency.evt.git-service.>');
    return stored.map((m) => JSON.parse(m.text) as Envelope<P>).filter((e) => (!type || e.type === type) && (!sagaId || e.sagaId === sagaId));
  }

  record(number: number): PullRequestRecord {
    return JSON.parse(readFileSync(join(this.fixture.forgeRoot, 'example', 'greeter.prs', `${number}.json`), 'utf8')) as PullRequestRecord;
  }

  http(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
    return fetch(`${this.service.url}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  }
}
