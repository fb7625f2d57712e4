import { cliProgram } from './cli.program.js';

// Output into a closed pipe (`agency status | head -1`, a terminal gone): stop as on SIGTERM, so
// `agency up` stops its stack instead of crashing and leaving the services behind.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.kill(process.pid, 'SIGTERM');
});

await cliProgram().parseAsync();
