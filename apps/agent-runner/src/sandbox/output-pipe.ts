import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One FIFO for a command's stdout and stderr: its read end as a stream, its write end to hand to the command. */
export interface OutputPipe {
  reader: Socket;
  writeFd: number;
  /** Closes this process's copy of the write end (the command keeps its own): call once it is spawned. */
  closeWriter(): void;
}

/**
 * A real pipe for a command's output instead of the socket pair `stdio: 'pipe'` makes. Node writes
 * to a socket that is momentarily full asynchronously and drops what is queued at
 * `process.exit()`: a test runner printing many small pieces and exiting at once (uvu) lost the end
 * of its output, summary included. A pipe is written synchronously. The FIFO's name is removed as
 * soon as both ends are open.
 */
export function openOutputPipe(): OutputPipe {
  const dir = mkdtempSync(join(tmpdir(), 'agency-output-'));
  const path = join(dir, 'fifo');
  try {
    execFileSync('mkfifo', ['-m', '600', path], { stdio: 'ignore' });
    const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const writeFd = openSync(path, constants.O_WRONLY);
    let open = true;
    return {
      reader: new Socket({ fd: readFd, readable: true, writable: false }),
      writeFd,
      closeWriter: () => {
        if (open) closeSync(writeFd);
        open = false;
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
