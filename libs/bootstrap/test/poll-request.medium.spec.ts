import 'reflect-metadata';
import { Writable } from 'node:stream';
import { Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Logger as NestPinoLogger } from 'nestjs-pino';
import { POLL_HEADER } from '@agency/contracts';
import { createLogger, initTelemetry, withSpan, type Telemetry } from '@agency/telemetry';
import { expectEventually } from '@agency/testing';
import { HttpSpanInterceptor } from '../src/http-span.interceptor.js';
import { serviceLogging } from '../src/service-logging.js';

// A client's state polling (POLL_HEADER on a GET: `agency up` twice a second) leaves no span and
// no info-level request line when it succeeds; a failed poll, the same read without the header and
// any other method keep both. Real HTTP on Fastify, real pino and a real OpenTelemetry SDK.

@Controller('state')
class StateController {
  private reads = 0;

  @Get()
  async read(): Promise<{ reads: number }> {
    // Work the handler does under the request (a store read): a child span, unless the request is a poll.
    return withSpan('read state', {}, async () => ({ reads: ++this.reads }));
  }

  @Get('broken')
  broken(): never {
    throw new Error('the store is gone');
  }

  @Post()
  @HttpCode(200)
  change(): { changed: true } {
    return { changed: true };
  }
}

type Line = Record<string, unknown> & { msg?: string; level?: string; req?: { method: string; url: string } };

describe('state polling leaves no trace and no info line', () => {
  const lines: Line[] = [];
  const exporter = new InMemorySpanExporter();
  let telemetry: Telemetry;
  let app: NestFastifyApplication;
  let url = '';

  beforeAll(async () => {
    telemetry = initTelemetry({ serviceName: 'poll-test', env: {}, exporters: [exporter] });
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk)) as Line), done()) });
    // Debug, so the test sees a poll's line at debug rather than missing for some other reason.
    const logging = serviceLogging(createLogger({ service: 'poll-test', level: 'debug', destination: sink }), { requests: true });

    @Module({ imports: [logging.module], controllers: [StateController] })
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
  });

  const requestLines = (method: string, path: string) => lines.filter((l) => l.req?.method === method && l.req.url === path && l.res !== undefined);
  const spans = async (): Promise<ReadableSpan[]> => {
    await telemetry.flush();
    return exporter.getFinishedSpans();
  };
  /** Waits for a marker request's span: every request answered before it has ended its own by then. */
  const settled = async (name: string, count: number) =>
    expectEventually(async () => expect((await spans()).filter((s) => s.name === name)).toHaveLength(count), { message: `${count} span(s) ${name}` });

  it('a successful poll makes no span (nor its handler) and only a debug line; the same read without the header makes both', async () => {
    const poll = await fetch(`${url}/state`, { headers: { [POLL_HEADER]: '1' } });
    expect(poll.status).toBe(200);
    expect(await poll.json()).toEqual({ reads: 1 });
    await expectEventually(() => expect(requestLines('GET', '/state')).toHaveLength(1), { message: "the poll's request line" });
    expect(requestLines('GET', '/state')[0]).toMatchObject({ level: 'debug', msg: 'request completed', res: { statusCode: 200 } });

    const read = await fetch(`${url}/state`);
    expect(await read.json()).toEqual({ reads: 2 });
    await settled('GET /state', 1);
    // One server span and one handler span: the read's; the poll left none of either.
    expect((await spans()).map((s) => s.name).sort()).toEqual(['GET /state', 'read state']);
    await expectEventually(() => expect(requestLines('GET', '/state')).toHaveLength(2));
    const [pollLine, readLine] = requestLines('GET', '/state');
    expect(pollLine).toMatchObject({ level: 'debug' });
    expect(pollLine).not.toHaveProperty('trace_id');
    expect(readLine).toMatchObject({ level: 'info', msg: 'request completed', res: { statusCode: 200 } });
    expect(readLine!.trace_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('a failed poll keeps its span and its line, and a change marked as a poll is traced and logged as any', async () => {
    const failed = await fetch(`${url}/state/broken`, { headers: { [POLL_HEADER]: '1' } });
    expect(failed.status).toBe(500);
    await settled('GET /state/broken', 1);
    const span = (await spans()).find((s) => s.name === 'GET /state/broken')!;
    expect(span.attributes['http.response.status_code']).toBe(500);
    expect(span.status).toMatchObject({ message: 'the store is gone' });
    await expectEventually(() => expect(requestLines('GET', '/state/broken')).toHaveLength(1));
    expect(requestLines('GET', '/state/broken')[0]).toMatchObject({ level: 'info', res: { statusCode: 500 } });

    const change = await fetch(`${url}/state`, { method: 'POST', headers: { [POLL_HEADER]: '1' } });
    expect(await change.json()).toEqual({ changed: true });
    await settled('POST /state', 1);
    await expectEventually(() => expect(requestLines('POST', '/state')).toHaveLength(1));
    expect(requestLines('POST', '/state')[0]).toMatchObject({ level: 'info', msg: 'request completed', res: { statusCode: 200 } });
  });
});
