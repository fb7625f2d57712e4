export * from './eventually.js';
export * from './ports.js';
export * from './temp-dir.js';
export * from './nats-server.js';
export * from './bus-inspector.js';
export * from './otlp-receiver.js';
export * from './fake-llm.server.js';
