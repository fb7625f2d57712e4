import { context, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { currentMessageContext } from './message-context.js';

export type AgencyPinoLogger = Logger;

/** Field names that may hold secrets, censored wherever they appear in a log object. */
export const REDACTED_PATHS = [
  'apiKey',
  '*.apiKey',
  'token',
  '*.token',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  '*.headers.cookie',
  'githubToken',
  '*.githubToken',
  'webhookSecret',
  '*.webhookSecret',
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
