import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, cpSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expectEventually, freePort, startNatsServer, tempDir, type NatsServerHandle, type TempDir } from '@agency/testing';

// Readiness follows the bus: a built service (the registry, booted by runService like every
// service) answers 503 once its nats-server has been gone for BUS_UNREADY_AFTER_SECONDS, and 200
// again when the server is back. Liveness stays 200 throughout: the process is fine, the bus is not.

const ROOT = resolve(import.meta.dirname, '../../..');

interface Ready {
  status: number;
  nats?: string;
  /** Who answered: on 503 too, so a stack polling the port knows it reached its own process. */
  service?: string;
}

describe('/health/ready reflects the bus', () => {
  let dir: TempDir;
  let nats: NatsServerHandle;
  let child: ChildProcess | undefined;
  let url = '';

  const ready = async (): Promise<Ready> => {
    const res = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(5000) });
    // Terminus's shape: each indicator's status, and for one that is down, what is wrong.
    const body = (await res.json()) as { service?: string; details?: Record<string, { status: string; message?: string }> };
    const nats = body.details?.nats;
    return { status: res.status, nats: nats?.status === 'up' ? 'ok' : nats?.message, service: body.service };
  };
  const logOf = () => readFileSync(join(dir.path, 'registry.log'), 'utf8');

  beforeAll(async () => {
    dir = tempDir('agency-ready-');
    cpSync(join(ROOT, 'examples', 'vault'), join(dir.path, 'vault'), { recursive: true });
    nats = await startNatsServer();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const log = openSync(join(dir.path, 'registry.log'), 'a');
    child = spawn(process.execPath, [join(ROOT, 'dist/apps/registry/src/main.js')], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir.path,
        NATS_URL: nats.url,
        HTTP_PORT: String(port),
        HTTP_HOST: '127.0.0.1',
        VAULT_PATH: join(dir.path, 'vault'),
        BUS_UNREADY_AFTER_SECONDS: '1',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    await expectEventually(async () => expect(await ready()).toEqual({ status: 200, nats: 'ok', service: 'registry' }), {
      timeoutMs: 30_000,
      intervalMs: 200,
      message: `registry ready (log: ${logOf()})`,
    });
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const gone = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
    await nats?.dispose();
    dir?.remove();
  });

  it('is unready while nats-server is down past the grace, ready again once it is back, and alive all along', async () => {
    await nats.stop('SIGKILL');
    const down = await expectEventually(
      async () => {
        const r = await ready();
        expect(r.status).toBe(503);
        return r;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: 'unready after nats-server was killed' },
    );
    expect(down.nats).toMatch(/^unreachable for \d+ s \(reconnecting\)$/);
    expect(down.service).toBe('registry');
    expect((await fetch(`${url}/health/live`)).status).toBe(200);

    await nats.restart();
    await expectEventually(async () => expect(await ready()).toEqual({ status: 200, nats: 'ok', service: 'registry' }), {
      timeoutMs: 30_000,
      intervalMs: 200,
      message: 'ready again after nats-server came back',
    });
    expect(child!.exitCode).toBeNull();
  });
});
