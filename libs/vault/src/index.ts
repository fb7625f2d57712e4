export * from './layout.js';
export * from './front-matter.js';
export * from './fr.parser.js';
export * from './fr.writer.js';
export * from './agency-config.js';
export * from './agents.js';
export * from './fr-sections.js';
export * from './model-use.js';
