import { CLIENT_FUNCTIONS } from './client.js';

/**
 * The browser script: the client functions as compiled (SWC has already removed the types), then
 * a call to main(). Built once per process; the same text from the source tree (tests) and dist/.
 */
export function clientScript(): string {
  const body = CLIENT_FUNCTIONS.map((fn) => fn.toString()).join('\n\n');
  return `'use strict';\n(() => {\n${body}\n\nmain();\n})();\n`;
}
