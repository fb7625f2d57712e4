// Preloaded into a gateway by memory.mjs (node --expose-gc --import): on SIGUSR2 it collects
// garbage (twice: weak references and finalizers are cleared on the second pass), appends
// process.memoryUsage() as one JSON line to MEMORY_PROBE_FILE and, when the file
// `${MEMORY_PROBE_FILE}.snapshot` exists, writes a heap snapshot into the directory it names
// (v8.writeHeapSnapshot): no inspector involved.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';

const file = process.env.MEMORY_PROBE_FILE;
let n = 0;
if (file) {
  process.on('SIGUSR2', () => {
    const before = process.memoryUsage();
    globalThis.gc?.();
    globalThis.gc?.();
    const after = process.memoryUsage();
    n += 1;
    const snapshots = existsSync(`${file}.snapshot`) ? readFileSync(`${file}.snapshot`, 'utf8') : undefined;
    const snapshot = snapshots ? v8.writeHeapSnapshot(join(snapshots, `gateway-${n}.heapsnapshot`)) : undefined;
    appendFileSync(file, `${JSON.stringify({ n, before, after, snapshot })}\n`);
  });
}
