import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Controller, Get, Logger, Module, Query } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger as NestPinoLogger } from 'nestjs-pino';
import { createLogger, initTelemetry, type Telemetry } from '@agency/telemetry';
import { expectEventually } from '@agency/testing';
import { HttpSpanInterceptor } from '../src/http-span.interceptor.js';
import { serviceLogging } from '../src/service-logging.js';

// Nest's own lines, the app's lines and a line per request all come out of the service's one pino
// logger (JSON, trace ids, redaction), over real HTTP on Fastify as every service serves it.

@Controller()
class EchoController {
  private readonly log = new Logger(EchoController.name);

  @Get('echo')
  echo(@Query('say') say: string): { said: string } {
    this.log.log({ msg: 'echoing', apiKey: 'sk-canary-echo' });
    return { said: say };
  }

  @Get('health/live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }
}

type Line = Record<string, unknown> & { msg?: string };

describe('request logging through nestjs-pino', () => {
  const lines: Line[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'request-logging-'));
  let telemetry: Telemetry;
  let app: NestFastifyApplication;
  let url = '';

  beforeAll(async () => {
    // A trace file makes spans real (no exporter: all-zero ids, which are left out of log lines).
    telemetry = initTelemetry({ serviceName: 'logging-test', env: { AGENCY_TRACE_FILE: join(dir, 'spans.jsonl') } });
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk)) as Line), done()) });
    const logging = serviceLogging(createLogger({ service: 'logging-test', destination: sink }), { requests: true });

    @Module({ imports: [logging.module], controllers: [EchoController] })
    class RootModule {}

    app = await NestFactory.create<NestFastifyApplication>(RootModule, new FastifyAdapter(), { logger: logging.nestLogger });
    app.useLogger(app.get(NestPinoLogger));
    app.useGlobalInterceptors(new HttpSpanInterceptor());
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
  });

  afterAll(async () => {
    await app?.close();
    await telemetry?.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it("logs Nest's start-up, the handler's line and the request's, with the span's trace id, no query string and no secret", async () => {
    expect(lines).toContainEqual(
      expect.objectContaining({ service: 'logging-test', context: 'NestApplication', msg: 'Nest application successfully started' }),
    );
    const res = await fetch(`${url}/echo?say=hi&token=sk-canary-query`, { headers: { authorization: 'Bearer sk-canary-header' } });
    expect(await res.json()).toEqual({ said: 'hi' });
    const request = await expectEventually(() => {
      const line = lines.find((l) => l.msg === 'request completed');
      expect(line).toBeDefined();
      return line!;
    });
    expect(request).toMatchObject({ level: 'info', service: 'logging-test', req: { method: 'GET', url: '/echo' }, res: { statusCode: 200 } });
    expect(request.trace_id).toMatch(/^[0-9a-f]{32}$/);
    const handler = lines.find((l) => l.msg === 'echoing')!;
    expect(handler).toMatchObject({ context: 'EchoController', apiKey: '[redacted]', trace_id: request.trace_id, reqId: (request.req as { id: unknown }).id });
    expect(JSON.stringify(lines)).not.toContain('sk-canary');
  });

  it('writes no line for probes: the request after one is the only one logged', async () => {
    await fetch(`${url}/health/live`);
    await fetch(`${url}/echo?say=after`);
    await expectEventually(() => expect(lines.filter((l) => l.msg === 'request completed')).toHaveLength(2));
    expect(lines.filter((l) => l.msg === 'request completed').map((l) => (l.req as { url: string }).url)).toEqual(['/echo', '/echo']);
  });
});
