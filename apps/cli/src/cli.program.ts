import { Command, InvalidArgumentError, Option } from 'commander';
import { AgencyApi } from './api.client.js';
import { up } from './commands/up.command.js';
import { jobs, merge, status, traceOf } from './commands/inspect.commands.js';
import { dispatch, go, logs, steer } from './commands/steer.commands.js';

/** `--watch [seconds]`: a positive number of seconds between redraws. */
export function watchSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new InvalidArgumentError(`expected a positive number of seconds, got "${value}"`);
  return seconds;
}

/** The `agency` command; each command's outcome becomes the exit code, an error a one-line message and 1. */
export function cliProgram(api: () => AgencyApi = () => new AgencyApi()): Command {
  const program = new Command('agency').description('Agency: feature requests in a vault become pull requests.');
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

  program
    .command('status')
    .description('FRs and where each one is')
    .addOption(new Option('--watch [seconds]', 'redraw the table every so many seconds until Ctrl-C').preset('2').argParser(watchSeconds))
    .action((o: { watch?: number }) => run(() => status(api(), o.watch))());
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
  return program;
}
