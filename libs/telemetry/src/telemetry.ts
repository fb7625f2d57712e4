import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { FileSpanExporter } from './file-span.exporter.js';

export interface TelemetrySettings {
  serviceName: string;
  serviceVersion?: string;
  /** Defaults to process.env: the standard OTEL_* variables plus AGENCY_TRACE_FILE. */
  env?: NodeJS.ProcessEnv;
  /** Extra exporters (tests use an in-memory one). */
  exporters?: SpanExporter[];
}

export interface Telemetry {
  /** Where spans go, for the start-up log line. */
  readonly destinations: string[];
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Picks the OTLP exporter the standard variables ask for; none when no endpoint is configured. */
function otlpExporter(env: NodeJS.ProcessEnv): { exporter: SpanExporter; label: string } | undefined {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint || env.OTEL_TRACES_EXPORTER === 'none') return undefined;
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  if (protocol === 'http/json') return { exporter: new OtlpJsonExporter(), label: `otlp http/json ${endpoint}` };
  if (protocol === 'http/protobuf') return { exporter: new OtlpProtoExporter(), label: `otlp http/protobuf ${endpoint}` };
  throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported; use http/protobuf or http/json`);
}

/**
 * Starts OpenTelemetry for one service. Call it before NestJS is created. Spans are always
 * produced (trace ids appear in logs and messages) even when nothing exports them.
 */
export function initTelemetry(settings: TelemetrySettings): Telemetry {
  const env = settings.env ?? process.env;
  const destinations: string[] = [];
  const processors: SpanProcessor[] = [];
  const batch = (e: SpanExporter) => new BatchSpanProcessor(e, { scheduledDelayMillis: 500, maxExportBatchSize: 256 });
  const otlp = otlpExporter(env);
  if (otlp) {
    processors.push(batch(otlp.exporter));
    destinations.push(otlp.label);
  }
  if (env.AGENCY_TRACE_FILE) {
    processors.push(batch(new FileSpanExporter(env.AGENCY_TRACE_FILE)));
    destinations.push(`file ${env.AGENCY_TRACE_FILE}`);
  }
  for (const e of settings.exporters ?? []) processors.push(batch(e));
  // NodeSDK registers no tracer provider without a processor, and trace ids would be all zeros.
  if (processors.length === 0) processors.push(new NoopSpanProcessor());

  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: settings.serviceName,
      [ATTR_SERVICE_VERSION]: settings.serviceVersion ?? '0.1.0',
    }),
    spanProcessors: processors,
    instrumentations: [],
  });
  sdk.start();
  return {
    destinations,
    flush: async () => {
      await Promise.all(processors.map((p) => p.forceFlush()));
    },
    shutdown: () => sdk.shutdown(),
  };
}
