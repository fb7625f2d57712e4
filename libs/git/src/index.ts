export * from './safe-git.js';
export * from './keyed-mutex.js';
export * from './header-git.js';
