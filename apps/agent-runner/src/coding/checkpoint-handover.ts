import { Inject, Injectable } from '@nestjs/common';
import type { ArtifactRefDto, CodeCommand, Envelope } from '@agency/contracts';
import { ArtifactStore } from '@agency/messaging';
import { WorkspaceService, type JobWorkspace } from '../git/workspace.service.js';
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

function key(env: Envelope<CodeCommand>, attempt: number, ext: 'json' | 'bundle'): string {
  return `${env.frId}/${env.sagaId}/code-r${env.payload.round}-a${attempt}.checkpoint.${ext}`;
}

/**
 * A code attempt that fails after committing hands its checkpoint commits to the next attempt
 * (the saga's re-drive): a bundle and a note in the object store, so the next attempt resumes from
 * them on whichever runner it lands, instead of starting again from the round's start.
 */
@Injectable()
export class CheckpointHandover {
  constructor(
    @Inject(WorkspaceService) private readonly workspaces: Pick<WorkspaceService, 'exportWork' | 'commitSubjects' | 'openAt'>,
    @Inject(ArtifactStore) private readonly artifacts: Pick<ArtifactStore, 'put' | 'putJson' | 'find'>,
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
  async resume(env: Envelope<CodeCommand>, roundStart: string): Promise<{ ws: JobWorkspace; note: ResumeNote } | undefined> {
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
    return undefined;
  }
}
