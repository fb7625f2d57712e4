export * from './run-service.js';
export * from './service-state.js';
export * from './metrics.js';
export * from './health.controller.js';
