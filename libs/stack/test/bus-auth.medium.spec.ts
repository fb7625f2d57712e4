import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Payload } from '@nestjs/microservices';
import { DeliverPolicy } from '@nats-io/jetstream';
import { BUCKETS, Messages, STREAMS, type Envelope, type ScoreFrCommand } from '@agency/contracts';
import { sampleEnvelope } from '@agency/contracts/testing';
import {
  ArtifactStore,
  BusAuthError,
  BusConnection,
  BusPublisher,
  Clock,
  ensureStreams,
  KvStore,
  JetStreamServer,
  OnMessage,
  PermanentError,
  type BusUser,
} from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import { expectEventually, freePort, tempDir, type TempDir } from '@agency/testing';
import { generateNatsCredentials, natsPasswordEnv, renderNatsAuthorization, type NatsCredentials, type NatsPrincipal } from '../src/nats-auth.js';
import { startNats, type NatsProcess } from '../src/nats-process.js';
import { expectRefused as refused } from './support/refused.js';

// nats-server 2.9 with the agency's generated users and permissions: each service can do what its
// code does (the transport's durable consumer, its events, dead letters, its buckets) and the
// server refuses the rest, with the permission error; wrong credentials stop a service at boot.

const ROOT = resolve(import.meta.dirname, '../../..');
const handled: string[] = [];

@Controller()
class RouterController {
  @OnMessage(Messages.ScoreFr.subject)
  async score(@Payload() env: Envelope<ScoreFrCommand>): Promise<void> {
    if (env.payload.fr.title === 'poison') throw new PermanentError('cannot score this', 'UNSCORABLE');
    handled.push(env.sagaId);
  }
}

@Module({ controllers: [RouterController] })
class RouterModule {}

describe('the bus with a user per service (nats-server 2.9)', () => {
  let dir: TempDir;
  let nats: NatsProcess;
  let creds: Record<NatsPrincipal, NatsCredentials>;
  const open: BusConnection[] = [];
  let router: INestMicroservice | undefined;

  const as = async (user: NatsPrincipal): Promise<BusConnection> => {
    const bus = await BusConnection.connect({ servers: nats.url, name: `${user}-test`, user, password: creds[user].password });
    open.push(bus);
    return bus;
  };
  beforeAll(async () => {
    dir = tempDir('agency-bus-auth-');
    creds = generateNatsCredentials();
    const configFile = join(dir.path, 'auth.conf');
    writeFileSync(configFile, renderNatsAuthorization());
    nats = await startNats(join(dir.path, 'js'), { configFile, env: natsPasswordEnv(creds) });
    // Streams as every service makes them at boot, here by the registry's user.
    await ensureStreams((await as('registry')).jsm);
  });

  afterAll(async () => {
    await router?.close().catch(() => undefined);
    for (const b of open) await b.close().catch(() => undefined);
    await nats?.stop('SIGKILL');
    dir?.remove();
  });

  it('runs the transport under the router user: its durable consumer, its handler, its dead letters', async () => {
    const bus = await as('router');
    const transport = new JetStreamServer({
      service: 'router',
      bus,
      publisher: new BusPublisher(bus, new Clock()),
      logger: createLogger({ service: 'router', level: 'silent' }),
      concurrency: 2,
      maxDeliver: 2,
      ackWaitMs: 2000,
    });
    router = await NestFactory.createMicroservice(RouterModule, { strategy: transport, logger: false });
    await router.listen();
    const orchestrator = new BusPublisher(await as('orchestrator'), new Clock());
    const fine = sampleEnvelope('ScoreFr', { sagaId: 'FR-1-r1' });
    await orchestrator.publishEnvelope(Messages.ScoreFr, fine);
    const poison = sampleEnvelope('ScoreFr', { sagaId: 'FR-2-r1', frId: 'FR-2' });
    poison.payload.fr.title = 'poison';
    await orchestrator.publishEnvelope(Messages.ScoreFr, poison);
    await expectEventually(() => expect(handled).toContain('FR-1-r1'));
    // The poison message went to the router's dead letters, and the saga heard of it.
    const admin = await as('admin');
    await expectEventually(async () => expect((await admin.jsm.streams.info(STREAMS.deadLetters.name)).state.messages).toBe(1));
    const notice = await admin.jsm.streams.getMessage(STREAMS.events.name, { last_by_subj: Messages.RouterDeadLettered.subject });
    expect(notice?.json<Envelope<{ reason: string }>>().payload.reason).toMatch(/UNSCORABLE|cannot score this/);
    // Acked and terminated: nothing is left for the router.
    await expectEventually(async () => expect((await admin.jsm.consumers.info(STREAMS.commands.name, 'router-cmd')).num_ack_pending).toBe(0));
  });

  it("refuses a service's credentials another service's command or event (the server's permission error)", async () => {
    const router = new BusPublisher(await as('router'), new Clock());
    await refused(router.publishEnvelope(Messages.EnqueueJob, sampleEnvelope('EnqueueJob')), Messages.EnqueueJob.subject);
    await refused(router.publishEnvelope(Messages.JobQueued, sampleEnvelope('JobQueued')), Messages.JobQueued.subject);
    await refused(router.publishEnvelope(Messages.ScoreFr, sampleEnvelope('ScoreFr')), Messages.ScoreFr.subject);
    const runner = new BusPublisher(await as('agent-runner'), new Clock());
    await refused(runner.publishEnvelope(Messages.PrMerged, sampleEnvelope('PrMerged')), Messages.PrMerged.subject);
    await refused(runner.publishEnvelope(Messages.OpenPr, sampleEnvelope('OpenPr')), Messages.OpenPr.subject);
    // What it owns goes through.
    await runner.publishEnvelope(Messages.AgentHeartbeat, sampleEnvelope('AgentHeartbeat'));
  });

  it("refuses pulling another service's commands and opening buckets the role does not grant", async () => {
    const runner = await as('agent-runner');
    await refused(runner.jsm.consumers.info(STREAMS.commands.name, 'router-cmd'), `$JS.API.CONSUMER.INFO.${STREAMS.commands.name}.router-cmd`);
    await refused(KvStore.open(runner, BUCKETS.sagas), `$JS.API.STREAM.INFO.KV_${BUCKETS.sagas}`);
    await refused(runner.jsm.streams.delete(STREAMS.events.name), `$JS.API.STREAM.DELETE.${STREAMS.events.name}`);
  });

  it('lets each service use its buckets as its code does: KV create, compare-and-set, watch, keys; artifacts replaced and read', async () => {
    const runner = await as('agent-runner');
    const once = await KvStore.open<{ n: number }>(runner, BUCKETS.once, { ttl: 60_000, history: 1 });
    const seen: string[] = [];
    const stop = await once.watchPuts(
      'agent-runner.job.>',
      (k) => seen.push(k),
      () => undefined,
    );
    const rev = await once.create('agent-runner.job.a', { n: 1 });
    await once.update('agent-runner.job.a', { n: 2 }, rev!);
    expect((await once.get('agent-runner.job.a'))?.value).toEqual({ n: 2 });
    expect(await once.keys()).toContain('agent-runner.job.a');
    await expectEventually(() => expect(seen).toContain('agent-runner.job.a'));
    stop();
    const artifacts = new ArtifactStore(runner);
    await artifacts.put('FR-1/x.txt', 'first', 'text/plain');
    const ref = await artifacts.put('FR-1/x.txt', 'second', 'text/plain');
    // The reviewer reads what the runner wrote (and writes its report); the router only reads repo sizes.
    expect(await new ArtifactStore(await as('reviewer')).getText(ref)).toBe('second');
    const repos = await KvStore.open(await as('router'), BUCKETS.repos, { history: 1 });
    expect(await repos.get('repo.example_greeter')).toBeUndefined();
    await refused(repos.put('repo.x', { fileCount: 1 }), `$KV.${BUCKETS.repos}.repo.x`);
  });

  it.each(['cli', 'dashboard'] as const)('lets the %s read the audit log and nothing more', async (user: BusUser) => {
    const bus = await as(user as NatsPrincipal);
    const consumer = await bus.js.consumers.get(STREAMS.events.name, { deliver_policy: DeliverPolicy.All });
    const first = await consumer.next({ expires: 5000 });
    expect(first?.subject).toMatch(/^agency\.evt\./);
    await refused(bus.js.publish(Messages.FrStateChanged.subject, '{}'), Messages.FrStateChanged.subject);
    await refused(bus.jsm.consumers.info(STREAMS.events.name, 'orchestrator-evt'), `$JS.API.CONSUMER.INFO.${STREAMS.events.name}.orchestrator-evt`);
  });

  it('stops a client with wrong or missing credentials with an error naming the problem, never the secret', async () => {
    const wrong = await BusConnection.connect({ servers: nats.url, name: 'x', user: 'router', password: 'sk-canary-wrong-password' }).catch((e: Error) => e);
    expect(wrong).toBeInstanceOf(BusAuthError);
    expect((wrong as Error).message).toBe(`NATS at ${nats.url} refused user "router" (Authorization Violation): check NATS_USER and NATS_PASSWORD`);
    const none = await BusConnection.connect({ servers: nats.url, name: 'x' }).catch((e: Error) => e);
    expect((none as Error).message).toBe(`NATS at ${nats.url} requires credentials (Authorization Violation): set NATS_USER and NATS_PASSWORD`);
  });

  it('makes a built service with wrong credentials exit 78 at boot, naming NATS_USER and NATS_PASSWORD and not printing the password', async () => {
    cpSync(join(ROOT, 'examples', 'vault'), join(dir.path, 'vault'), { recursive: true });
    const run = (password: string) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
        void freePort().then((port) => {
          const child = spawn(process.execPath, [join(ROOT, 'dist/apps/registry/src/main.js')], {
            env: {
              PATH: process.env.PATH ?? '',
              HOME: dir.path,
              NATS_URL: nats.url,
              NATS_USER: 'registry',
              NATS_PASSWORD: password,
              HTTP_PORT: String(port),
              HTTP_HOST: '127.0.0.1',
              VAULT_PATH: join(dir.path, 'vault'),
              LOG_LEVEL: 'info',
            },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
          child.once('exit', (code) => (clearTimeout(killer), done({ code, stdout, stderr })));
        });
      });
    const out = await run('sk-canary-registry-wrong');
    expect(out.code).toBe(78);
    expect(out.stderr.trim()).toBe(`registry: NATS at ${nats.url} refused user "registry" (Authorization Violation): check NATS_USER and NATS_PASSWORD`);
    expect(out.stdout + out.stderr).not.toContain('sk-canary-registry-wrong');
  });
});
