// Entry point @agency/contracts/browser: what code running in a browser (the dashboard's page) may
// take from the contracts. Plain constants and functions (saga-rules.ts imports nothing) and
// types, which compile away; never the message classes, whose class-validator decorators are
// Node code. The dashboard serves the compiled modules as /assets/contracts/<name>.js.
export * from './saga-rules.js';
export type * from './api.js';
export type * from './dashboard-api.js';
