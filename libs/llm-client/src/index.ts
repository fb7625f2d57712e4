export * from './llm.client.js';
export * from './json-answer.js';
