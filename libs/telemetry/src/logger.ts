import type { LoggerService } from '@nestjs/common';
import { context, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { currentMessageContext } from './message-context.js';

export type AgencyPinoLogger = Logger;

/** Field names that may hold secrets, censored wherever they appear in a log object. */
export const REDACTED_PATHS = [
  'apiKey', '*.apiKey', 'token', '*.token', 'password', '*.password', 'secret', '*.secret',
  'authorization', '*.authorization', '*.headers.authorization', '*.headers["x-api-key"]', '*.headers.cookie',
  'githubToken', '*.githubToken', 'webhookSecret', '*.webhookSecret',
];

export interface LoggerSettings {
  service: string;
  level?: string;
  /** Tests pass a stream to read log lines back. */
  destination?: DestinationStream;
}

/** Structured JSON logs; each line carries trace, FR, job and saga ids when there are any. */
export function createLogger(settings: LoggerSettings): AgencyPinoLogger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { service: settings.service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const out: Record<string, string> = {};
      const sc = trace.getSpan(context.active())?.spanContext();
      if (sc && sc.traceId !== '00000000000000000000000000000000') {
        out.trace_id = sc.traceId;
        out.span_id = sc.spanId;
      }
      const mc = currentMessageContext();
      if (mc.frId) out.frId = mc.frId;
      if (mc.jobId) out.jobId = mc.jobId;
      if (mc.sagaId) out.sagaId = mc.sagaId;
      if (mc.step) out.step = mc.step;
      return out;
    },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

/** Adapts pino to Nest's LoggerService, so framework logs come out as the same JSON. */
export class AgencyLogger implements LoggerService {
  constructor(private readonly pinoLogger: AgencyPinoLogger) {}

  get pino(): AgencyPinoLogger {
    return this.pinoLogger;
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: 'info' | 'error' | 'warn' | 'debug' | 'trace' | 'fatal', message: unknown, params: unknown[]): void {
    // Nest passes the context name last; an error stack may come before it.
    const ctx = typeof params.at(-1) === 'string' ? (params.at(-1) as string) : undefined;
    const rest = ctx ? params.slice(0, -1) : params;
    const fields: Record<string, unknown> = {};
    if (ctx) fields.context = ctx;
    const stack = rest.find((p) => typeof p === 'string');
    if (stack) fields.stack = stack;
    if (message instanceof Error) {
      this.pinoLogger[level]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.pinoLogger[level]({ ...fields, ...(message as Record<string, unknown>) });
    } else {
      this.pinoLogger[level](fields, String(message));
    }
  }
}
