import { Injectable } from '@nestjs/common';
import type { LintResultDto, ReviewCommand } from '@agency/contracts';
import { redactSecrets } from '../checks/secrets.check.js';
import type { CheckResult, Finding } from '../review/review.model.js';

/** How much of the lint output a finding quotes (ReviewFindingDto.message holds 5000). */
const EXCERPT_CHARS = 4000;

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The end of the output, where linters print their errors and summary; secrets in it are redacted. */
function excerpt(output: string): string {
  const text = redactSecrets(output).text.trim();
  return text.length <= EXCERPT_CHARS ? text : `…${text.slice(text.length - EXCERPT_CHARS)}`;
}

function finding(severity: Finding['severity'], blocking: boolean, message: string, suggestion?: string): Finding {
  return {
    file: '',
    severity,
    message: message.slice(0, 5000),
    ...(suggestion ? { suggestion } : {}),
    blocking,
    confidence: 1,
    source: 'check',
    check: 'lint',
  };
}

/**
 * The repository's lint command (`repos.<name>.lint` in agency.yaml, RepoTargetDto.lintCommand),
 * as the test step ran it in the job's sandbox (ReviewCommand.tests.lint). The reviewer runs
 * nothing of the repository's: it only reads the result. A failing lint blocks the change; a lint
 * that did not run or ran out of time is a non-blocking note: it says nothing about the change.
 */
@Injectable()
export class LintCheck {
  run(cmd: Pick<ReviewCommand, 'repo' | 'tests'>): CheckResult {
    const configured = cmd.repo.lintCommand?.trim();
    const lint: LintResultDto | undefined = cmd.tests.lint;
    if (!configured && !lint)
      return { id: 'lint', passed: true, notRun: true, detail: `no lint command configured (repos.${cmd.repo.name}.lint)`, findings: [] };
    if (!lint) {
      const why = 'the test step reported no lint result (its setup failed, or the runner predates lint in the sandbox)';
      return {
        id: 'lint',
        passed: false,
        detail: `lint did not run: ${why}`,
        findings: [finding('minor', false, `The lint command \`${configured}\` did not run, so lint was not checked: ${why}.`)],
      };
    }
    const output = redactSecrets(lint.outputTail).text;
    if (lint.timedOut) {
      return {
        id: 'lint',
        passed: false,
        detail: `lint could not finish: \`${lint.command}\` ran out of time (${seconds(lint.durationMs)})`,
        findings: [
          finding(
            'minor',
            false,
            `The lint command \`${lint.command}\` could not run to the end within the runner's LINT_TIMEOUT_SECONDS, so lint was not checked.\n\n${excerpt(lint.outputTail)}`,
          ),
        ],
        output,
      };
    }
    if (lint.exitCode !== 0) {
      return {
        id: 'lint',
        passed: false,
        detail: `\`${lint.command}\` failed (exit ${lint.exitCode}, ${seconds(lint.durationMs)})`,
        findings: [
          finding(
            'major',
            true,
            `The lint command \`${lint.command}\` failed (exit ${lint.exitCode}):\n\n${excerpt(lint.outputTail)}`,
            'Fix what the linter reports; do not switch lint rules off.',
          ),
        ],
        output,
      };
    }
    return { id: 'lint', passed: true, detail: `\`${lint.command}\` passed (${seconds(lint.durationMs)})`, findings: [], output };
  }
}
