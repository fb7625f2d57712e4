export * from './local-stack.js';
export * from './nats-process.js';
export * from './seed.js';
