import { Injectable } from '@nestjs/common';
import { SafeGit } from '@agency/git';
import { GitServiceConfig } from '../git-service.config.js';

export { GIT_IDENTITY, GitCommandError, SAFE_GIT_CONFIG, redactCredentials } from '@agency/git';

/** Host git for git-service: the shared safe configuration, this service's timeout. */
@Injectable()
export class GitClient extends SafeGit {
  constructor(config: GitServiceConfig) {
    super(config.GIT_TIMEOUT_MS);
  }
}
