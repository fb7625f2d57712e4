import type { IncomingMessage } from 'node:http';
import { RequestMethod, type DynamicModule, type LoggerService } from '@nestjs/common';
import { Logger, LoggerModule, PinoLogger, type Params } from 'nestjs-pino';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { requestTraceIds } from './http-span.interceptor.js';
import { isQuietPoll } from './poll-request.js';

/** Probes and scrapes come every few seconds and say nothing about the work: no request lines for them. */
const UNLOGGED = /^\/(health\/|metrics(\?|$))/;

/** The path as requested: under Fastify, Nest's middleware sees `url` cut to the part after the route it matched. */
const requestedUrl = (req: IncomingMessage): string => (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';

export interface ServiceLogging {
  /** nestjs-pino's LoggerModule: pino-http's request lines and PinoLogger for injection. */
  module: DynamicModule;
  /** Nest's own logs through the same pino, from the first line NestFactory.create writes. */
  nestLogger: LoggerService;
}

export interface RequestLogging {
  /**
   * pino-http on every route: a line per answered request (method, path, status, time, trace id)
   * and the request's id on the lines logged while it runs. Off on a hot path, where it costs too
   * much (bench/request-logging): then no middleware at all, and lines keep their trace ids.
   */
  requests: boolean;
}

/**
 * Logging through nestjs-pino over the service's own pino logger (createLogger: JSON, trace and
 * message ids, redaction), so Nest's lines, request lines and the app's lines are one stream.
 * A request line carries the method and path only (no headers, no query string: either may hold
 * a key) and the trace id of the request's span. nestjs-pino keeps one root logger per process:
 * in a test that boots several services in one process, Nest's and request lines carry the first
 * one's service name (the apps' own lines, through SERVICE_LOGGER, are not affected).
 */
export function serviceLogging(logger: AgencyPinoLogger, options: RequestLogging): ServiceLogging {
  const params: Params = {
    // Every route, or none. nestjs-pino's default (`{/*splat}`) matches nothing under Nest 12's Fastify adapter.
    forRoutes: options.requests ? [{ path: '{*splat}', method: RequestMethod.ALL }] : [],
    pinoHttp: {
      logger,
      autoLogging: { ignore: (req) => UNLOGGED.test(requestedUrl(req)) },
      // A client's state polling (POLL_HEADER) drowned the info lines of a run (669 of 700): debug
      // when it succeeds, so LOG_LEVEL=debug still shows it; any failure keeps its info line.
      customLogLevel: (req, res, err) => (isQuietPoll(req.method, req.headers, res.statusCode, err !== undefined) ? 'debug' : 'info'),
      quietReqLogger: true,
      customProps: (req) => requestTraceIds(req) ?? {},
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url.split('?')[0] }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
  };
  return { module: LoggerModule.forRoot(params), nestLogger: new Logger(new PinoLogger(params), params) };
}
