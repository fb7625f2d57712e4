import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import { KeyedMutex, redactCredentials } from '@agency/git';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { unavailable } from '../forge/forge.errors.js';
import type { ForgeRepoRef } from '../forge/repo-ref.js';
import { GitServiceConfig } from '../git-service.config.js';
import { GitClient } from '../git/git.client.js';
import { TokenGitClient } from '../git/token-git.client.js';

/** The forge's branches and tags, as they are there; nothing else (GitHub's refs/pull/* stay out). */
const SERVED_REFSPECS = ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'];

/**
 * The copies of the forge's repositories git-service serves to agent-runners
 * (WORK_DIR/served/<owner>/<name>.git): bare, holding the forge's branches and tags under their
 * own names, fetched with the forge token right before each read, so a private repository is read
 * through git-service and the token never leaves it. Apart from the push mirror (MirrorService):
 * bundles and merge worktrees never show to readers.
 */
@Injectable()
export class ServedMirrors {
  private readonly root: string;
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly git: GitClient,
    private readonly tokenGit: TokenGitClient,
    config: GitServiceConfig,
    @Inject(SERVICE_LOGGER) private readonly logger: AgencyPinoLogger,
  ) {
    this.root = resolve(config.WORK_DIR, 'served');
  }

  /** The folder http-backend serves (GIT_PROJECT_ROOT); a repository is `<owner>/<name>.git` under it. */
  get projectRoot(): string {
    return this.root;
  }

  /** Brings the served copy up to the forge (creating it the first time); returns its folder. */
  async refresh(repo: ForgeRepoRef): Promise<string> {
    const dir = join(this.root, repo.owner, `${repo.repo}.git`);
    return this.locks.run(dir, async () => {
      if (!existsSync(join(dir, 'HEAD'))) await this.create(dir);
      const net = repo.forge === 'github' ? this.tokenGit.forRemote(repo.cloneUrl) : this.git;
      const fetched = await net.attempt(dir, ['fetch', '--prune', '--no-tags', '--', repo.cloneUrl, ...SERVED_REFSPECS]);
      if (!fetched.ok) throw unavailable('MIRROR_FETCH_FAILED', `cannot fetch ${repo.name} from ${redactCredentials(repo.cloneUrl)}: ${fetched.error.message}`);
      // HEAD names the base, so a plain clone of the served copy checks out what the agency works on.
      await this.git.run(dir, ['symbolic-ref', 'HEAD', `refs/heads/${repo.base}`]);
      return dir;
    });
  }

  /** An empty bare repository that serves upload-pack only (http-backend's default without REMOTE_USER; said here too). */
  private async create(dir: string): Promise<void> {
    await mkdir(dirname(dir), { recursive: true });
    const temp = `${dir}.${randomUUID()}.tmp`;
    try {
      await this.git.run(dirname(dir), ['init', '--quiet', '--bare', temp]);
      for (const [key, value] of [
        ['http.receivepack', 'false'],
        ['http.getanyfile', 'false'],
        ['uploadpack.allowAnySHA1InWant', 'false'],
      ] as const) {
        await this.git.run(temp, ['config', key, value]);
      }
      await rename(temp, dir);
    } catch (e) {
      await rm(temp, { recursive: true, force: true });
      throw e;
    }
    this.logger.info({ mirror: dir }, 'served mirror created');
  }
}
