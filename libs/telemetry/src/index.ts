export * from './message-context.js';
export * from './tracing.js';
export * from './logger.js';
export * from './telemetry.js';
export * from './file-span.exporter.js';
