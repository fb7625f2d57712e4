import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { runService, type RunningService } from '@agency/bootstrap';
import { Objm } from '@nats-io/obj';
import {
  BUCKETS,
  Messages,
  STREAMS,
  type AnyMessageDef,
  type Envelope,
  type PayloadOf,
  type PlannedEvent,
  type RepoTargetDto,
  type StrategyDto,
} from '@agency/contracts';
import { sampleFr, sampleStrategy } from '@agency/contracts/testing';
import { ArtifactStore, BusConnection, BusPublisher, Clock, type EnvelopeInit, type PublishOptions } from '@agency/messaging';
import { expectEventually, readStream, startFakeLlm, startNatsServer, tempDir, type FakeLlm, type NatsServerHandle, type TempDir } from '@agency/testing';
import { AGENT_RUNNER_SECRETS, AgentRunnerConfig } from '../../src/agent-runner.config.js';
import { AgentRunnerModule } from '../../src/agent-runner.module.js';
import { makeGreeterForge, VAULT_PATH, type GreeterForge } from './greeter-forge.js';
import { releaseJobDisks } from './job-disks.js';

export const API_KEY = 'test-gateway-key';

/** One nats-server, one fake LLM endpoint, one greeter forge and the agent-runner itself (restartable on another WORK_DIR). */
export class RunnerHarness {
  nats!: NatsServerHandle;
  llm!: FakeLlm;
  forge!: GreeterForge;
  bus!: BusConnection;
  publisher!: BusPublisher;
  artifacts!: ArtifactStore;
  runner?: RunningService;
  workDir!: TempDir;
  /** The runner's SANDBOX_OWNER: its sandbox containers carry it. */
  readonly sandboxOwner = `test-runner-${randomUUID().slice(0, 8)}`;
  private readonly workDirs: TempDir[] = [];

  async start(env: Record<string, string> = {}): Promise<void> {
    this.nats = await startNatsServer();
    this.llm = await startFakeLlm(API_KEY);
    this.forge = makeGreeterForge();
    this.bus = await BusConnection.connect({ servers: this.nats.url, name: 'agent-runner-test' });
    this.publisher = new BusPublisher(this.bus, new Clock());
    this.artifacts = new ArtifactStore(this.bus);
    await this.startRunner(env);
  }

  /** Starts the service as production does (runService), on a new WORK_DIR: another machine, or a wiped disk. */
  async startRunner(env: Record<string, string> = {}): Promise<void> {
    this.workDir = tempDir('agent-runner-work-');
    this.workDirs.push(this.workDir);
    this.runner = await runService(
      { service: 'agent-runner', schema: AgentRunnerConfig, secrets: AGENT_RUNNER_SECRETS, module: (config) => AgentRunnerModule.forRoot(config) },
      {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NATS_URL: this.nats.url,
        HTTP_PORT: '0',
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        VAULT_PATH,
        WORK_DIR: this.workDir.path,
        LLM_GATEWAY_URL: this.llm.url,
        LLM_GATEWAY_API_KEY: API_KEY,
        HEARTBEAT_SECONDS: '1',
        SANDBOX_OWNER: this.sandboxOwner,
        SANDBOX_POOL_SIZE: '1',
        BUS_ACK_WAIT_SECONDS: '10',
        BUS_MAX_DELIVER: '3',
        ...env,
      },
    );
  }

  async stopRunner(): Promise<void> {
    await this.runner?.close();
    this.runner = undefined;
  }

  async dispose(): Promise<void> {
    await this.stopRunner().catch(() => undefined);
    await this.bus?.close();
    await this.llm?.close();
    await this.nats?.dispose();
    this.forge?.root.remove();
    // Job file systems (SANDBOX_WORKTREE_FS) outlive the runner, as worktrees do: unmounted before the directory goes.
    for (const d of this.workDirs) {
      await releaseJobDisks(d.path);
      d.remove();
    }
  }

  repo(patch: Partial<RepoTargetDto> = {}): RepoTargetDto {
    return { name: 'example/greeter', cloneUrl: this.forge.cloneUrl, base: 'main', forge: 'local', testCommand: 'node --test', ...patch };
  }

  strategy(): StrategyDto {
    return { ...sampleStrategy(), plannerModel: 'planner', coderModel: 'coder' };
  }

  /** FR-001 of the example vault, as the orchestrator would snapshot it. */
  fr(id = 'FR-001', title = 'Add a farewell function') {
    return {
      ...sampleFr(),
      id,
      title,
      repo: 'example/greeter',
      phases: ['Add `farewell(name)` to `src/farewell.js`, returning `Goodbye, <name>!`.', 'Cover it with a test.'],
      acceptanceCriteria: ['`farewell("Ada")` returns `"Goodbye, Ada!"`.', '`npm test` passes.'],
      body: '## Problem\n\nThe greeter library can say hello but not goodbye.\n',
    };
  }

  send<D extends AnyMessageDef>(def: D, init: EnvelopeInit<PayloadOf<D>>, options: PublishOptions = {}) {
    return this.publisher.publish(def, init, options);
  }

  /** Every event of one saga on a subject, in stream order. */
  async events<D extends AnyMessageDef>(def: D, sagaId: string): Promise<Array<Envelope<PayloadOf<D>>>> {
    const stored = await readStream(this.bus.js, STREAMS.events.name, def.subject);
    return stored.map((m) => JSON.parse(m.text) as Envelope<PayloadOf<D>>).filter((e) => e.sagaId === sagaId);
  }

  /** An artifact by its key alone (transcripts travel in no event), as JSON. */
  async artifactJson<T>(key: string): Promise<T> {
    const store = await new Objm(this.bus.js).open(BUCKETS.artifacts);
    const data = await store.getBlob(key);
    if (!data) throw new Error(`no artifact ${key}`);
    return JSON.parse(new TextDecoder().decode(data)) as T;
  }

  /** Plans FR-001 once (saga `plan`) with the model answering as the caller set it up, for tests that code from that plan. */
  async planOnce(): Promise<Envelope<PlannedEvent>> {
    await this.send(Messages.Plan, {
      frId: 'FR-001',
      sagaId: 'plan',
      jobId: 'job-plan',
      step: 'plan',
      attempt: 1,
      payload: { fr: this.fr(), repo: this.repo(), strategy: this.strategy() },
    });
    return this.answer(Messages.Planned, 'plan', 'plan');
  }

  /** Waits for the step's answer (its result or a step-failed event) and returns it. */
  async answer<D extends AnyMessageDef>(def: D, sagaId: string, step: string, attempt = 1, timeoutMs = 30_000): Promise<Envelope<PayloadOf<D>>> {
    return expectEventually(
      async () => {
        const dead = (await this.events(Messages.AgentDeadLettered, sagaId)).find((e) => e.step === step && e.attempt === attempt);
        if (dead) throw new Error(`step ${step} was dead-lettered: ${dead.payload.reason}`);
        const failed = (await this.events(Messages.AgentStepFailed, sagaId)).find((e) => e.step === step && e.attempt === attempt);
        if (failed && def !== Messages.AgentStepFailed) throw new Error(`step ${step} failed: ${failed.payload.code}: ${failed.payload.reason}`);
        const found = (await this.events(def, sagaId)).find((e) => e.step === step && e.attempt === attempt);
        if (!found) throw new Error(`no ${def.type} for ${sagaId}/${step}#${attempt} yet`);
        return found;
      },
      { timeoutMs, intervalMs: 100, message: `${def.type} of ${sagaId}/${step}#${attempt}` },
    );
  }
}
