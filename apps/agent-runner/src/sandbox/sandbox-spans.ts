import { withSpan } from '@agency/telemetry';
import type { SandboxExecOptions, SandboxResult, SandboxSession } from './sandbox.js';

/** The command as a span attribute: its start only (a model's command can be long). */
const COMMAND_CHARS = 256;

/** The program a command line runs (`npm test` -> npm), a low-cardinality span name. */
export function programOf(command: string): string {
  const first =
    command
      .trim()
      .replace(/^(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*/, '')
      .split(/[\s;&|()<>]/)[0] ?? '';
  const base = first.split('/').pop() ?? '';
  return /^[A-Za-z0-9_.+-]{1,40}$/.test(base) ? base : 'sh';
}

/**
 * Every command a session runs (the coder's run_command, the setup, the tests and lint) as a span
 * `exec <program>` under the step that runs it, with its exit code, time-out, duration and the
 * start of its command line; the variables it got are not recorded (names or values).
 */
export function tracedSession<S extends SandboxSession>(session: S, phase: 'agent' | 'environment'): S {
  const exec = session.exec.bind(session);
  const traced = (options: SandboxExecOptions): Promise<SandboxResult> =>
    withSpan(
      `exec ${programOf(options.command)}`,
      { attributes: { 'process.command_line': options.command.slice(0, COMMAND_CHARS), 'agency.sandbox.phase': phase, 'agency.job_id': session.jobId } },
      async (span) => {
        const result = await exec(options);
        span.setAttributes({
          'process.exit.code': result.exitCode,
          'agency.sandbox.timed_out': result.timedOut,
          'agency.sandbox.duration_ms': result.durationMs,
        });
        if (result.oomKilled) span.setAttribute('agency.sandbox.oom_killed', true);
        return result;
      },
    );
  return Object.assign(session, { exec: traced });
}
