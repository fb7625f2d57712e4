import { Inject, Injectable, Optional } from '@nestjs/common';
import { SERVICE_LOGGER } from '@agency/bootstrap';
import type { ArtifactRefDto, CodeCommand, Envelope } from '@agency/contracts';
import { ArtifactStore } from '@agency/messaging';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { GitClient } from '../git/git.client.js';
import { keptRefs, WorkspaceService, type JobWorkspace } from '../git/workspace.service.js';
import { BUNDLE_CONTENT_TYPE } from '../steps/artifact-keys.js';
import { jobIdOf } from '../steps/step-ids.js';
import type { ResumeNote } from './code.prompt.js';
import { LiveSaver } from './loop/live-saver.js';

/** What an attempt of a code round hands over for the next one, on any runner. */
interface Handover {
  headSha: string;
  roundStart: string;
  branch: string;
  baseSha: string;
  bundle: ArtifactRefDto;
  reason: string;
  commits: string[];
}

/**
 * An attempt's bundles alternate between two keys: the note names the one last written in full,
 * so a runner killed between writing a bundle and its note leaves the noted bundle intact (the
 * note's reference holds the bundle's checksum).
 */
type Slot = 0 | 1;

/** What one attempt has handed over so far: its head, and the slot its note names. */
interface Handed {
  head?: string;
  slot?: Slot;
}

/** The checkpoints of a running attempt, handed over as they are made. */
export interface LiveHandover {
  /** A checkpoint was committed: hand it over soon (at most once an interval). */
  poke(): void;
  /** No more handovers; one in flight has ended when this resolves. */
  finish(): Promise<void>;
  /** The attempt failed: its last state and why, for the next attempt (after `finish`). */
  leave(reason: string): Promise<boolean>;
}

/** How often a running attempt's checkpoints go to the object store at most: a killed runner loses at most this much work. */
export const LIVE_HANDOVER_MS = 20_000;

/** Why a run that only handed over while running stopped: nothing after it said otherwise. */
const CUT_SHORT = 'its runner stopped in the middle of it';

/** Kept refs looked at for an interrupted run: the newest few (a job rarely has more than one). */
const KEPT_LOOKED_AT = 10;

/** What finding and checking out a kept run needs of git. */
type KeptGit = Pick<GitClient, 'run' | 'attempt' | 'runInTree'>;

/** `sha` has `ancestor` in its history (false when this disk does not know `ancestor`). */
async function descends(git: KeptGit, ws: JobWorkspace, sha: string, ancestor: string): Promise<boolean> {
  return (await git.attempt(ws.mirrorDir, ['merge-base', '--is-ancestor', ancestor, sha])).ok;
}

function key(env: Envelope<CodeCommand>, attempt: number, ext: 'json' | `${Slot}.bundle`): string {
  return `${env.frId}/${env.sagaId}/code-r${env.payload.round}-a${attempt}.checkpoint.${ext}`;
}

/**
 * An attempt of a code round hands its checkpoint commits to the next attempt: a bundle and a
 * note in the object store, under the attempt's own keys, so the next attempt resumes from them on
 * whichever runner it lands instead of starting again from the round's start. A running attempt
 * hands them over as it makes them (`live`, throttled): when its runner is killed, the step's
 * redelivery (same attempt number) finds them on another runner too. One that fails leaves its
 * last state and the failure (`leave`), for the saga's re-drive.
 *
 * On the disk a killed run ran on, reopening the worktree kept its commits under
 * refs/agency/kept/<job>/; the step's commits there (their trailers name the saga and step) are
 * newer than its last throttled handover, and are resumed from when they continue it.
 */
@Injectable()
export class CheckpointHandover {
  constructor(
    @Inject(WorkspaceService) private readonly workspaces: Pick<WorkspaceService, 'exportBundle' | 'commitSubjects' | 'openAt' | 'headOf'>,
    @Inject(ArtifactStore) private readonly artifacts: Pick<ArtifactStore, 'put' | 'putJson' | 'find'>,
    @Inject(SERVICE_LOGGER) private readonly logger: Pick<AgencyPinoLogger, 'info' | 'warn'>,
    @Optional() @Inject(GitClient) private readonly git?: KeptGit,
  ) {}

  /**
   * Hands the attempt's checkpoints over while its loop runs: at once for the first, then at most
   * every `intervalMs`, and only when the head moved. A handover that fails is logged, never the
   * step's failure.
   */
  live(env: Envelope<CodeCommand>, ws: JobWorkspace, roundStart: string, intervalMs = LIVE_HANDOVER_MS): LiveHandover {
    const handed: Handed = {};
    const ids = { frId: env.frId, sagaId: env.sagaId, step: env.step, attempt: env.attempt };
    const write = async (): Promise<void> => {
      const started = Date.now();
      try {
        const head = await this.workspaces.headOf(ws);
        if (head === roundStart || head === handed.head) return;
        const size = await this.store(env, ws, roundStart, CUT_SHORT, handed);
        this.logger.info({ ...ids, headSha: handed.head, bundleBytes: size, durationMs: Date.now() - started }, 'checkpoints handed over');
      } catch (e) {
        this.logger.warn({ ...ids, err: e, durationMs: Date.now() - started }, 'checkpoints not handed over; the step goes on');
      }
    };
    const saver = new LiveSaver(write, intervalMs);
    return {
      poke: () => saver.poke(),
      finish: () => saver.finish(),
      leave: async (reason) => {
        await saver.finish();
        return (await this.store(env, ws, roundStart, reason, handed)) !== undefined;
      },
    };
  }

  /** Leaves the attempt's work for the next one; nothing when it committed nothing. */
  async leave(env: Envelope<CodeCommand>, ws: JobWorkspace, roundStart: string, reason: string): Promise<boolean> {
    return (await this.store(env, ws, roundStart, reason, {})) !== undefined;
  }

  /**
   * The latest state of this round that an earlier attempt, or an earlier delivery of this one,
   * left from the same start: the worktree is moved to its head, and the note for the prompt is
   * returned.
   */
  async resume(env: Envelope<CodeCommand>, roundStart: string, ws?: JobWorkspace): Promise<{ ws: JobWorkspace; note: ResumeNote } | undefined> {
    const noted = await this.latestNote(env, roundStart);
    const git = this.git;
    const kept = ws && git ? await this.keptRun(git, env, ws, roundStart) : undefined;
    // This disk's kept commits win when they continue the note (they are newer than its throttled handover).
    if (ws && git && kept && (!noted || (kept !== noted.handover.headSha && (await descends(git, ws, kept, noted.handover.headSha))))) {
      await git.runInTree(ws, ['checkout', '--force', '-B', ws.branch, kept]);
      await git.runInTree(ws, ['clean', '-ffdq']);
      const commits = await this.workspaces.commitSubjects(ws, roundStart);
      return { ws, note: { attempt: env.attempt, reason: CUT_SHORT, commits } };
    }
    if (!noted) return undefined;
    const { attempt, handover } = noted;
    const opened = await this.workspaces.openAt(jobIdOf(env), env.payload.repo, {
      branch: handover.branch,
      baseSha: handover.baseSha,
      headSha: handover.headSha,
      bundle: handover.bundle,
    });
    return { ws: opened, note: { attempt, reason: handover.reason, commits: handover.commits } };
  }

  /** Bundle first, then the note naming it; the bundle's size, or undefined when there was nothing to hand over. */
  private async store(env: Envelope<CodeCommand>, ws: JobWorkspace, roundStart: string, reason: string, handed: Handed): Promise<number | undefined> {
    // Nothing committed since the round started: nothing to bundle.
    if ((await this.workspaces.headOf(ws)) === roundStart) return undefined;
    const work = await this.workspaces.exportBundle(ws);
    if (work.headSha === roundStart) return undefined;
    const slot = await this.freeSlot(env, handed);
    const bundle = await this.artifacts.put(key(env, env.attempt, `${slot}.bundle`), work.bundle, BUNDLE_CONTENT_TYPE);
    const commits = await this.workspaces.commitSubjects(ws, roundStart);
    const note: Handover = { headSha: work.headSha, roundStart, branch: ws.branch, baseSha: ws.baseSha, bundle, reason: reason.slice(0, 1000), commits };
    await this.artifacts.putJson(key(env, env.attempt, 'json'), note);
    handed.head = work.headSha;
    handed.slot = slot;
    return bundle.size;
  }

  /** The slot the attempt's note does not name (an earlier delivery of the attempt may have left one). */
  private async freeSlot(env: Envelope<CodeCommand>, handed: Handed): Promise<Slot> {
    if (handed.slot === undefined) {
      const found = await this.artifacts.find(key(env, env.attempt, 'json'));
      const named = found ? (JSON.parse(new TextDecoder().decode(found.data)) as Handover).bundle.key : undefined;
      handed.slot = named === key(env, env.attempt, '0.bundle') ? 0 : 1;
    }
    return handed.slot === 0 ? 1 : 0;
  }

  /** The newest note for this round from the same start: this attempt's own (a redelivery), else the latest earlier one's. */
  private async latestNote(env: Envelope<CodeCommand>, roundStart: string): Promise<{ attempt: number; handover: Handover } | undefined> {
    for (let attempt = env.attempt; attempt >= 1; attempt -= 1) {
      const found = await this.artifacts.find(key(env, attempt, 'json'));
      if (!found) continue;
      const handover = JSON.parse(new TextDecoder().decode(found.data)) as Handover;
      if (handover.roundStart === roundStart) return { attempt, handover };
    }
    return undefined;
  }

  /** The newest of the step's own commits that a reset of this worktree kept aside (a killed run's). */
  private async keptRun(git: KeptGit, env: Envelope<CodeCommand>, ws: JobWorkspace, roundStart: string): Promise<string | undefined> {
    const listed = await git.run(ws.mirrorDir, ['for-each-ref', '--sort=-refname', `--count=${KEPT_LOOKED_AT}`, '--format=%(objectname)', keptRefs(ws.jobId)]);
    const mark = `Agency-Saga: ${env.sagaId}\nAgency-Step: ${env.step}`;
    for (const sha of listed.split('\n').filter(Boolean)) {
      if (sha === roundStart || !(await descends(git, ws, sha, roundStart))) continue;
      const bodies = (await git.run(ws.mirrorDir, ['log', '--format=%B%x00', `${roundStart}..${sha}`])).split('\0').map((b) => b.trim());
      // Only this step's checkpoints: another round's or saga's commits are not this step's work.
      if (bodies.filter(Boolean).every((b) => b.includes(mark))) return sha;
    }
    return undefined;
  }
}
