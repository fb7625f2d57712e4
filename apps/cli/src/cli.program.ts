import { Command, InvalidArgumentError, Option } from 'commander';
import { AgencyApi } from './api.client.js';
import { up } from './commands/up.command.js';
import { jobs, merge, status, traceOf } from './commands/inspect.commands.js';
import { gateway } from './commands/gateway.command.js';
import { dispatch, go, logs, steer } from './commands/steer.commands.js';
import { evalCheck, evalCompare, evalRun, type EvalRunOptions } from './commands/eval.commands.js';

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
    .description('start NATS (unless NATS_URL is set), the seven services, the dashboard and the example vault, and follow the FRs')
    .option('--once', 'exit when the planned folder is drained and no FR is running')
    .option('--run-dir <dir>', 'working state (default .agency/run)')
    .option('--vault <dir>', 'use this vault instead of a copy of the example one')
    .option('--fresh', 'start from a clean run directory')
    .option('--timeout <seconds>', 'with --once, give up after this long', '600')
    .option('--port-base <port>', 'listen on this port and the 7 after it (orchestrator first, dashboard last; AGENCY_PORT_BASE; default 7100)')
    .action((opts) => run(() => up(opts))());

  program
    .command('status')
    .description('FRs and where each one is')
    .addOption(new Option('--watch [seconds]', 'redraw the table every so many seconds until Ctrl-C').preset('2').argParser(watchSeconds))
    .action((o: { watch?: number }) => run(() => status(api(), o.watch))());
  program
    .command('jobs')
    .description('the job queue')
    .action(() => run(() => jobs(api()))());
  program
    .command('pause')
    .description('stop dispatching queued jobs (running ones go on)')
    .action(() => run(() => dispatch(api(), true))());
  program
    .command('resume')
    .description('dispatch queued jobs again')
    .action(() => run(() => dispatch(api(), false))());
  program
    .command('merge <frId>')
    .description("merge an FR's pull request on the local forge")
    .action((frId: string) => run(() => merge(api(), frId))());
  program
    .command('gateway')
    .description('the running stack\'s LLM gateway for other tools: OPENAI_BASE_URL and OPENAI_API_KEY exports (eval "$(npm run -s agency -- gateway)")')
    .option('--key', 'print only the key')
    .action((o: { key?: boolean }) => run(async () => gateway(o))());
  program
    .command('trace <frId>')
    .description("print an FR's trace from the local trace file")
    .action((frId: string) => run(() => traceOf(api(), frId))());

  program
    .command('go <frId>')
    .description('take an FR now (from ideas, specified, planned or blocked), at critical priority')
    .option('--tier <tier>', 'run it on this tier instead of the scored one')
    .action((frId: string, opts: { tier?: string }) => run(() => go(api(), frId, opts.tier))());
  program
    .command('approve <frId>')
    .description('approve the open gate (the plan, or the PR: merges it)')
    .option('--comment <text>')
    .action((frId: string, o: { comment?: string }) => run(() => steer(api(), 'approve', frId, o))());
  program
    .command('reject <frId>')
    .description('reject the open gate')
    .option('--comment <text>')
    .action((frId: string, o: { comment?: string }) => run(() => steer(api(), 'reject', frId, o))());
  program
    .command('cancel <frId>')
    .description('stop an FR: its job, worktree and container go away')
    .option('--reason <text>')
    .action((frId: string, o: { reason?: string }) => run(() => steer(api(), 'cancel', frId, o))());
  program
    .command('retry <frId>')
    .description('resume a failed, blocked or cancelled FR at the step that stopped it')
    .action((frId: string) => run(() => steer(api(), 'retry', frId, {}))());
  program
    .command('logs <frId>')
    .description("an FR's events from the audit log")
    .option('-f, --follow', 'keep printing new events')
    .action((frId: string, o: { follow?: boolean }) => run(() => logs(api, frId, !!o.follow))());
  addEvalCommands(program, run);
  return program;
}

function addEvalCommands(program: Command, run: (fn: () => Promise<number>) => () => Promise<void>): void {
  const evalCmd = program.command('eval').description('measure the agency on a suite of tasks (docs/eval.md)');
  evalCmd
    .command('run <suite>')
    .description('run every task of a suite on a stack of its own, then its hidden tests on the PR branch; writes report.json and report.md')
    .option('--models <aliases>', 'comma-separated model aliases (of the configuration): every role uses each in turn')
    .option('--tiers <names>', 'comma-separated tiers: every FR runs on each in turn (default: the router picks)')
    .option('--concurrency <n>', 'stacks at once', '1')
    .option(
      '--answers <kinds>',
      'models (default), or scripted, comma-separated, a variant each: oracle (the reference solutions), wrong (a wrong change), empty (no change: the run fails)',
    )
    .option('--tasks <names>', "comma-separated: only these of the suite's tasks")
    .option('--vault <dir>', 'the agency configuration to measure: agents, rules, tiers, llm (default examples/vault)')
    .option('--out <dir>', 'where the run is kept (default .agency/eval/<suite>-<answers>-<time>)')
    .option('--port-base <port>', 'the first stack listens on this port and the 7 after it, the next 10 higher', '7600')
    .option('--timeout <seconds>', "a task's time limit", '1800')
    .option('--registry <url>', 'npm registry for npm tasks (default https://registry.npmjs.org)')
    .action((suite: string, o: EvalRunOptions) => run(() => evalRun(suite, o))());
  evalCmd
    .command('check <suite>')
    .description("check a suite: each task's hidden tests fail at its base and pass with its reference solution")
    .option('--out <dir>', 'working folder')
    .option('--registry <url>', 'npm registry for npm tasks')
    .action((suite: string, o: { out?: string; registry?: string }) => run(() => evalCheck(suite, o))());
  evalCmd
    .command('compare <a> <b>')
    .description('two suite runs side by side (report.json files or run folders)')
    .action((a: string, b: string) => run(async () => evalCompare(a, b))());
}
