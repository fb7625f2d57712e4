import { StepFailure } from '../steps/step-failure.js';

/** Step-failed codes of a repository setup that cannot give the job its environment. */
export const SETUP_FAILURE_CODES = ['ENV_SETUP_FAILED', 'ENV_SETUP_TIMEOUT'] as const;
export type SetupFailureCode = (typeof SETUP_FAILURE_CODES)[number];

/** Output that says the network or a registry hiccuped: worth trying the step again later. */
const HICCUP =
  /\b(ETIMEDOUT|ECONNRESET|ECONNREFUSED|EAI_AGAIN|ENOTFOUND|ERR_SOCKET_TIMEOUT|EPIPE)\b|socket hang up|network (timeout|error)|Temporary failure in name resolution|Could not resolve host|Connection (reset|refused|timed out)|\b(429|500|502|503|504)\b|Service Unavailable|Bad Gateway|Gateway Time-?out|Too Many Requests|fetch failed/i;

export function looksLikeHiccup(output: string): boolean {
  return HICCUP.test(output);
}

/** The step failure for a setup that failed or ran out of time: its code, its output's tail, and whether a retry may help. */
export function setupFailure(command: string, result: { exitCode: number; timedOut: boolean; output: string }, timeoutSeconds: number): StepFailure {
  const tail = result.output.length > 4000 ? `…${result.output.slice(-4000)}` : result.output;
  if (result.timedOut) {
    return new StepFailure(
      'ENV_SETUP_TIMEOUT',
      `the repository's setup \`${command}\` did not finish within SETUP_TIMEOUT_SECONDS (${timeoutSeconds} s):\n${tail}`,
      true,
    );
  }
  return new StepFailure(
    'ENV_SETUP_FAILED',
    `the repository's setup \`${command}\` failed (exit ${result.exitCode}):\n${tail}`,
    looksLikeHiccup(result.output),
  );
}
