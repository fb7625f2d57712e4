import { Inject, Injectable } from '@nestjs/common';
import type { ReviewCommand } from '@agency/contracts';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { ArtifactStore } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { redactSecrets } from '../checks/secrets.check.js';
import type { CheckResult, Finding } from '../review/review.model.js';
import { ReviewerConfig } from '../reviewer.config.js';
import { CommandRunner, type CommandResult } from './command.runner.js';
import { LintSetupError, LintWorkspaceClient } from './lint-workspace.client.js';

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
  return { file: '', severity, message: message.slice(0, 5000), ...(suggestion ? { suggestion } : {}), blocking, confidence: 1, source: 'check', check: 'lint' };
}

/**
 * The repository's lint command (`repos.<name>.lint` in agency.yaml, RepoTargetDto.lintCommand),
 * run on the change: clone, apply the bundle, run `setup` (when configured) then `lint` within
 * LINT_TIMEOUT_MS. A failing lint blocks the change. A lint that cannot run (clone, bundle,
 * setup or the time limit) is reported as a non-blocking note: it says nothing about the change.
 */
@Injectable()
export class LintCheck {
  constructor(
    @Inject(LintWorkspaceClient) private readonly workspaces: Pick<LintWorkspaceClient, 'prepare'>,
    @Inject(CommandRunner) private readonly runner: Pick<CommandRunner, 'run'>,
    @Inject(ArtifactStore) private readonly artifacts: Pick<ArtifactStore, 'get'>,
    private readonly config: ReviewerConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {}

  async run(cmd: Pick<ReviewCommand, 'repo' | 'workspace'>): Promise<CheckResult> {
    const lint = cmd.repo.lintCommand?.trim();
    if (!lint) return { id: 'lint', passed: true, detail: `no lint command configured (repos.${cmd.repo.name}.lint)`, findings: [] };
    const notRun = (why: string, output?: string): CheckResult => ({
      id: 'lint',
      passed: false,
      detail: `lint could not run: ${why}`,
      findings: [finding('minor', false, `The lint command \`${lint}\` could not run, so lint was not checked: ${why}${output ? `\n\n${excerpt(output)}` : ''}`)],
      ...(output ? { output: redactSecrets(output).text } : {}),
    });
    // An artifact the store cannot give is the transport's to retry, not a lint result.
    const bundle = await this.artifacts.get(cmd.workspace.bundle);
    let ws;
    try {
      ws = await this.workspaces.prepare(cmd.repo.cloneUrl, bundle, cmd.workspace.branch, cmd.workspace.headSha);
    } catch (e) {
      if (!(e instanceof LintSetupError)) throw e;
      this.logger.warn({ repo: cmd.repo.name }, `lint check could not prepare the change: ${e.message}`);
      return notRun(e.message);
    }
    try {
      const deadline = Date.now() + this.config.LINT_TIMEOUT_MS;
      const run = (command: string): Promise<CommandResult> =>
        this.runner.run({ command, cwd: ws.dir, timeoutMs: Math.max(1000, deadline - Date.now()), maxOutputBytes: this.config.LINT_OUTPUT_MAX_BYTES });
      const setup = cmd.repo.setupCommand?.trim();
      if (setup) {
        const r = await run(setup);
        if (r.timedOut) return notRun(`the setup command \`${setup}\` did not finish within LINT_TIMEOUT_MS (${seconds(this.config.LINT_TIMEOUT_MS)})`, r.output);
        if (r.exitCode !== 0) return notRun(`the setup command \`${setup}\` failed (exit ${r.exitCode})`, r.output);
      }
      const r = await run(lint);
      const output = redactSecrets(r.output).text;
      if (r.timedOut) return notRun(`it did not finish within LINT_TIMEOUT_MS (${seconds(this.config.LINT_TIMEOUT_MS)})`, r.output);
      if (r.exitCode !== 0) {
        return {
          id: 'lint',
          passed: false,
          detail: `\`${lint}\` failed (exit ${r.exitCode}, ${seconds(r.durationMs)})`,
          findings: [finding('major', true, `The lint command \`${lint}\` failed (exit ${r.exitCode}):\n\n${excerpt(r.output)}`, 'Fix what the linter reports; do not switch lint rules off.')],
          output,
        };
      }
      return { id: 'lint', passed: true, detail: `\`${lint}\` passed (${seconds(r.durationMs)})`, findings: [], output };
    } finally {
      await ws.remove();
    }
  }
}
