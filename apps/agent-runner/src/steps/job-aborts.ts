import { Injectable } from '@nestjs/common';

/**
 * An abort signal per job, for what a cancel must stop at once besides the sandbox: the model
 * call in flight (it would run on and be billed). A cancelled job's signal stays aborted, so a
 * step that starts after the cancel is refused its first call too.
 */
@Injectable()
export class JobAborts {
  private readonly controllers = new Map<string, AbortController>();

  signalFor(jobId: string): AbortSignal {
    let controller = this.controllers.get(jobId);
    if (!controller) {
      controller = new AbortController();
      this.controllers.set(jobId, controller);
    }
    return controller.signal;
  }

  /** Aborts every call of the job; true when one was listening. */
  abort(jobId: string, reason: string): boolean {
    const existing = this.controllers.get(jobId);
    const controller = existing ?? new AbortController();
    this.controllers.set(jobId, controller);
    const listening = !!existing && !controller.signal.aborted;
    controller.abort(new Error(`job ${jobId} cancelled: ${reason}`));
    return listening;
  }

  /** Forgets a job whose work is over (its worktree removed), so the map does not grow. */
  forget(jobId: string): void {
    const controller = this.controllers.get(jobId);
    if (controller && !controller.signal.aborted) this.controllers.delete(jobId);
  }
}
