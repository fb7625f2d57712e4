import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Injectable } from '@nestjs/common';
import { SafeGit } from '@agency/git';
import { ReviewerConfig } from '../reviewer.config.js';

export interface LintWorkspace {
  dir: string;
  remove(): Promise<void>;
}

/** Preparing the checkout failed for a reason that is not the change's fault (clone, bundle). */
export class LintSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LintSetupError';
  }
}

/**
 * The change checked out where the lint command can run: the reviewer has no mirror of its own,
 * so it clones the repository's clone URL into WORK_DIR/lint/<uuid>, fetches the agent's bundle
 * (base..head) into it and checks out the head. Host git with the shared safe configuration:
 * no hooks, no fsmonitor, no ext:: transport.
 */
@Injectable()
export class LintWorkspaceClient {
  private readonly git: SafeGit;
  private readonly root: string;

  constructor(config: ReviewerConfig) {
    this.git = new SafeGit(config.GIT_TIMEOUT_MS);
    this.root = resolve(config.WORK_DIR, 'lint');
  }

  async prepare(cloneUrl: string, bundle: Uint8Array, branch: string, headSha: string): Promise<LintWorkspace> {
    if (cloneUrl.startsWith('-') || /^[a-z0-9+.-]+::/i.test(cloneUrl)) throw new LintSetupError(`clone URL "${cloneUrl}" is refused: options and transport helpers are not allowed`);
    const id = randomUUID();
    const dir = join(this.root, id);
    const bundleFile = join(this.root, `${id}.bundle`);
    const remove = async () => {
      await rm(dir, { recursive: true, force: true });
      await rm(bundleFile, { force: true });
    };
    try {
      await mkdir(this.root, { recursive: true });
      const cloned = await this.git.attempt(this.root, ['clone', '--quiet', '--no-checkout', '--no-tags', '--', cloneUrl, dir]);
      if (!cloned.ok) throw new LintSetupError(`cannot clone ${cloneUrl}: ${cloned.error.message}`);
      await writeFile(bundleFile, bundle);
      const heads = await this.git.attempt(dir, ['bundle', 'list-heads', bundleFile]);
      if (!heads.ok) throw new LintSetupError(`the change's bundle is not a git bundle: ${heads.error.message}`);
      const refs = heads.stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((p) => p.length === 2);
      const ref = refs.find(([sha, name]) => sha === headSha && name === `refs/heads/${branch}`) ?? refs.find(([sha]) => sha === headSha);
      if (!ref) throw new LintSetupError(`the change's bundle has no head ${headSha}`);
      const fetched = await this.git.attempt(dir, ['fetch', '--quiet', '--no-tags', bundleFile, `+${ref[1]}:refs/agency/review`]);
      if (!fetched.ok) throw new LintSetupError(`cannot apply the change's bundle to ${cloneUrl} (its base missing?): ${fetched.error.message}`);
      await this.git.run(dir, ['checkout', '--quiet', '--detach', headSha]);
      return { dir, remove };
    } catch (e) {
      await remove();
      if (e instanceof LintSetupError) throw e;
      throw new LintSetupError((e as Error).message);
    }
  }
}
