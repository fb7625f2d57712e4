import { Command } from 'commander';
import { AgencyApi } from './api.client.js';
import { up } from './commands/up.command.js';
import { jobs, merge, status, traceOf } from './commands/inspect.commands.js';
import { dispatch, go, logs, steer } from './commands/steer.commands.js';

const program = new Command('agency').description('Agency: feature requests in a vault become pull requests.');
const api = () => new AgencyApi();
const run = (fn: () => Promise<number>) => async () => {
  try {
    process.exitCode = await fn();
  } catch (e) {
    console.error(`agency: ${(e as Error).message}`);
    process.exitCode = 1;
  }
};

program
  .command('up')
  .description('start NATS (unless NATS_URL is set), the seven services and the example vault, and follow the FRs')
  .option('--once', 'exit when the planned folder is drained and no FR is running')
  .option('--run-dir <dir>', 'working state (default .agency/run)')
  .option('--vault <dir>', 'use this vault instead of a copy of the example one')
  .option('--fresh', 'start from a clean run directory')
  .option('--timeout <seconds>', 'with --once, give up after this long', '600')
  .action((opts) => run(() => up(opts))());

program.command('status').description('FRs and where each one is').action(() => run(() => status(api()))());
program.command('jobs').description('the job queue').action(() => run(() => jobs(api()))());
program.command('pause').description('stop dispatching queued jobs (running ones go on)').action(() => run(() => dispatch(api(), true))());
program.command('resume').description('dispatch queued jobs again').action(() => run(() => dispatch(api(), false))());
program.command('merge <frId>').description("merge an FR's pull request on the local forge").action((frId: string) => run(() => merge(api(), frId))());
program.command('trace <frId>').description("print an FR's trace from the local trace file").action((frId: string) => run(() => traceOf(api(), frId))());

program
  .command('go <frId>')
  .description('take an FR now (from ideas, specified, planned or blocked), at critical priority')
  .option('--tier <tier>', 'run it on this tier instead of the scored one')
  .action((frId: string, opts: { tier?: string }) => run(() => go(api(), frId, opts.tier))());
program.command('approve <frId>').description('approve the open gate (the plan, or the PR: merges it)').option('--comment <text>').action((frId: string, o: { comment?: string }) => run(() => steer(api(), 'approve', frId, o))());
program.command('reject <frId>').description('reject the open gate').option('--comment <text>').action((frId: string, o: { comment?: string }) => run(() => steer(api(), 'reject', frId, o))());
program.command('cancel <frId>').description('stop an FR: its job, worktree and container go away').option('--reason <text>').action((frId: string, o: { reason?: string }) => run(() => steer(api(), 'cancel', frId, o))());
program.command('retry <frId>').description('resume a failed, blocked or cancelled FR at the step that stopped it').action((frId: string) => run(() => steer(api(), 'retry', frId, {}))());
program
  .command('logs <frId>')
  .description("an FR's events from the audit log")
  .option('-f, --follow', 'keep printing new events')
  .action((frId: string, o: { follow?: boolean }) => run(() => logs(api(), frId, !!o.follow))());

await program.parseAsync();
