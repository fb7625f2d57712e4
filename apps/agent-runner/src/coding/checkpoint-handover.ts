import { Inject, Injectable, Optional } from '@nestjs/common';
import type { ArtifactRefDto, CodeCommand, Envelope } from '@agency/contracts';
import { ArtifactStore } from '@agency/messaging';
import { GitClient } from '../git/git.client.js';
import { keptRefs, WorkspaceService, type JobWorkspace } from '../git/workspace.service.js';
import { BUNDLE_CONTENT_TYPE } from '../steps/artifact-keys.js';
import { jobIdOf } from '../steps/step-ids.js';
import type { ResumeNote } from './code.prompt.js';

/** What a stopped attempt of a code round leaves for the next attempt, on any runner. */
interface Handover {
  headSha: string;
  roundStart: string;
  branch: string;
  baseSha: string;
  bundle: ArtifactRefDto;
  reason: string;
  commits: string[];
}

/** Kept refs looked at for an interrupted run: the newest few (a job rarely has more than one). */
const KEPT_LOOKED_AT = 10;

function key(env: Envelope<CodeCommand>, attempt: number, ext: 'json' | 'bundle'): string {
  return `${env.frId}/${env.sagaId}/code-r${env.payload.round}-a${attempt}.checkpoint.${ext}`;
}

/**
 * A code attempt that fails after committing hands its checkpoint commits to the next attempt
 * (the saga's re-drive): a bundle and a note in the object store, so the next attempt resumes from
 * them on whichever runner it lands, instead of starting again from the round's start.
 *
 * A run that could leave nothing (its runner was killed mid-step) is found on the disk it ran on:
 * reopening the worktree kept its commits under refs/agency/kept/<job>/, and the step's commits
 * there (their trailers name the saga and step) are resumed from when the step comes again.
 */
@Injectable()
export class CheckpointHandover {
  constructor(
    @Inject(WorkspaceService) private readonly workspaces: Pick<WorkspaceService, 'exportWork' | 'commitSubjects' | 'openAt'>,
    @Inject(ArtifactStore) private readonly artifacts: Pick<ArtifactStore, 'put' | 'putJson' | 'find'>,
    @Optional() @Inject(GitClient) private readonly git?: Pick<GitClient, 'run' | 'attempt' | 'runInTree'>,
  ) {}

  /** Leaves the attempt's work for the next one; nothing when it committed nothing. */
  async leave(env: Envelope<CodeCommand>, ws: JobWorkspace, roundStart: string, reason: string): Promise<boolean> {
    const work = await this.workspaces.exportWork(ws);
    if (work.headSha === roundStart) return false;
    const bundle = await this.artifacts.put(key(env, env.attempt, 'bundle'), work.bundle, BUNDLE_CONTENT_TYPE);
    const commits = await this.workspaces.commitSubjects(ws, roundStart);
    const note: Handover = { headSha: work.headSha, roundStart, branch: ws.branch, baseSha: ws.baseSha, bundle, reason: reason.slice(0, 1000), commits };
    await this.artifacts.putJson(key(env, env.attempt, 'json'), note);
    return true;
  }

  /**
   * The latest earlier attempt's work for this round, if one was left from the same start: the
   * worktree is moved to its head, and the note for the prompt is returned.
   */
  async resume(env: Envelope<CodeCommand>, roundStart: string, ws?: JobWorkspace): Promise<{ ws: JobWorkspace; note: ResumeNote } | undefined> {
    for (let attempt = env.attempt - 1; attempt >= 1; attempt -= 1) {
      const found = await this.artifacts.find(key(env, attempt, 'json'));
      if (!found) continue;
      const handover = JSON.parse(new TextDecoder().decode(found.data)) as Handover;
      if (handover.roundStart !== roundStart) continue;
      const ws = await this.workspaces.openAt(jobIdOf(env), env.payload.repo, {
        branch: handover.branch,
        baseSha: handover.baseSha,
        headSha: handover.headSha,
        bundle: handover.bundle,
      });
      return { ws, note: { attempt, reason: handover.reason, commits: handover.commits } };
    }
    return ws ? this.resumeInterrupted(env, ws, roundStart) : undefined;
  }

  /** The step's own commits that a reset of this worktree kept aside (a killed run's), checked out again. */
  private async resumeInterrupted(
    env: Envelope<CodeCommand>,
    ws: JobWorkspace,
    roundStart: string,
  ): Promise<{ ws: JobWorkspace; note: ResumeNote } | undefined> {
    if (!this.git) return undefined;
    const listed = await this.git.run(ws.mirrorDir, [
      'for-each-ref',
      '--sort=-refname',
      `--count=${KEPT_LOOKED_AT}`,
      '--format=%(objectname)',
      keptRefs(ws.jobId),
    ]);
    const mark = `Agency-Saga: ${env.sagaId}\nAgency-Step: ${env.step}`;
    for (const sha of listed.split('\n').filter(Boolean)) {
      if (sha === roundStart || !(await this.git.attempt(ws.mirrorDir, ['merge-base', '--is-ancestor', roundStart, sha])).ok) continue;
      const bodies = (await this.git.run(ws.mirrorDir, ['log', '--format=%B%x00', `${roundStart}..${sha}`])).split('\0').map((b) => b.trim());
      // Only this step's checkpoints: another round's or saga's commits are not this step's work.
      if (!bodies.filter(Boolean).every((b) => b.includes(mark))) continue;
      await this.git.runInTree(ws, ['checkout', '--force', '-B', ws.branch, sha]);
      await this.git.runInTree(ws, ['clean', '-ffdq']);
      const commits = await this.workspaces.commitSubjects(ws, roundStart);
      return { ws, note: { attempt: env.attempt, reason: 'its runner stopped in the middle of it', commits } };
    }
    return undefined;
  }
}
