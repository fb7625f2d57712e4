import { Injectable } from '@nestjs/common';
import { SafeGit } from '@agency/git';
import { AgentRunnerConfig } from '../agent-runner.config.js';

export { GIT_IDENTITY, GitCommandError, SAFE_GIT_CONFIG, gitEnv, redactCredentials } from '@agency/git';

/** Host git for the runner: the shared safe configuration, the runner's own timeout. */
@Injectable()
export class GitClient extends SafeGit {
  constructor(config: AgentRunnerConfig) {
    super(config.GIT_TIMEOUT_SECONDS * 1000);
  }
}
