import { initTelemetry } from './telemetry.js';
import { tracer } from './tracing.js';

// Own file: the tracer provider is global per process, and this case has no exporter at all.
it('still produces real trace ids when nothing exports spans', async () => {
  const telemetry = initTelemetry({ serviceName: 'no-export', env: {} });
  const span = tracer().startSpan('a');
  expect(span.spanContext().traceId).not.toBe('0'.repeat(32));
  expect(telemetry.destinations).toEqual([]);
  span.end();
  await telemetry.shutdown();
});
