import { constants } from 'node:os';
import { BoundedOutput } from '../bounded-output.js';
import { SandboxError, type SandboxExecOptions, type SandboxResult } from '../sandbox.js';
import { CommandChannel, ServerGoneError, type ServerHello } from './command-channel.js';
import { containerSpec, SANDBOX_WORKDIR, type ContainerSpecInput } from './container-spec.js';
import { dockerStatusOf, type DockerEngine } from './docker.engine.js';

/** How long a fresh container may take to say it is ready (node's start on a busy machine). */
const READY_TIMEOUT_MS = 60_000;
/** Beyond the command's own limit: the server's kill grace plus slack, after which the container itself is killed. */
const WATCHDOG_SLACK_MS = 15_000;
/** How long `bye` may take before the container is killed. */
const BYE_TIMEOUT_MS = 3000;

/**
 * Whether a container that ended during a command ran out of memory. Docker's OOMKilled flag is
 * set by any OOM kill in the container and stays set, so it only answers for this command when
 * no earlier command of the container was an OOM kill (`oomsBefore`: the count the server last
 * reported; -1 when it could not read its cgroup, then the flag is all there is).
 */
export function endedByOom(dockerFlag: boolean, oomsBefore: number): boolean {
  return dockerFlag && oomsBefore <= 0;
}

/** What a write past the per-file cap (RLIMIT_FSIZE) looks like: the signal, a shell's report of it, or EFBIG. */
export function hitFileSizeLimit(exitCode: number, signal: string | undefined, output: string): boolean {
  if (signal === 'SIGXFSZ') return true;
  return exitCode !== 0 && /File size limit exceeded|\bEFBIG\b/.test(output);
}

/** What a write past a full file system looks like (the worktree's own, or the /tmp tmpfs): ENOSPC, as tools print it, in a failed command. */
export function hitFullDisk(exitCode: number, output: string): boolean {
  return exitCode !== 0 && /No space left on device|\bENOSPC\b/.test(output);
}

function signalNumber(signal: string): number {
  return (constants.signals as Record<string, number | undefined>)[signal] ?? 0;
}

/**
 * One sandbox container and its command server: started with the slot directory mounted, ready
 * once the server says so, then commands one at a time until shutdown() removes it.
 */
export class SandboxContainer {
  private renamed?: Promise<void>;
  /** OOM kills in this container so far, as its server last reported them. */
  private oomsSeen: number;

  private constructor(
    private readonly engine: DockerEngine,
    readonly id: string,
    readonly name: string,
    readonly image: string,
    readonly slotDir: string,
    readonly user: { uid: number; gid: number },
    private readonly channel: CommandChannel,
    readonly hello: ServerHello,
  ) {
    this.oomsSeen = hello.oomCount;
  }

  /** Creates, attaches and starts the container and waits for its server's hello. */
  static async start(engine: DockerEngine, input: ContainerSpecInput & { slotDir: string }): Promise<SandboxContainer> {
    let attached;
    try {
      attached = await engine.createAttached(containerSpec(input));
    } catch (e) {
      const status = dockerStatusOf(e);
      if (status === 404 && /image/i.test((e as Error).message)) {
        throw new SandboxError(
          'SANDBOX_IMAGE_MISSING',
          `sandbox image "${input.image}" is not available to the Docker engine: build it (scripts/docker/build-images.sh) or pull it`,
          false,
        );
      }
      throw new SandboxError('SANDBOX_UNAVAILABLE', `cannot start a sandbox container from ${input.image}: ${(e as Error).message}`);
    }
    const channel = new CommandChannel(attached.stdin, attached.stdout, attached.stderr);
    let timer: NodeJS.Timeout | undefined;
    try {
      const hello = await Promise.race([
        channel.ready,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no hello within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
        }),
      ]);
      return new SandboxContainer(engine, attached.id, input.name, input.image, input.slotDir, input.user, channel, hello);
    } catch (e) {
      await engine.remove(attached.id).catch(() => undefined);
      const why = (e as Error).message;
      const noNode = /node.*(not found|no such file)|executable file not found/i.test(why);
      throw new SandboxError(
        noNode ? 'SANDBOX_IMAGE_MISSING' : 'SANDBOX_UNAVAILABLE',
        noNode
          ? `sandbox image "${input.image}" has no \`node\` on its PATH; the sandbox's command server needs Node.js 18 or later in the image (${why})`
          : `the sandbox container from ${input.image} did not start its command server: ${why}`,
        !noNode,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  get isGone(): boolean {
    return this.channel.isGone;
  }

  onGone(listener: (e: Error) => void): void {
    this.channel.onGone(listener);
  }

  /** Renames the container (labels cannot change after creation; the name says which job holds it). */
  rename(name: string): Promise<void> {
    this.renamed = this.engine.rename(this.id, name).catch(() => undefined);
    return this.renamed;
  }

  async exec(options: SandboxExecOptions, defaultMaxOutput: number, env: Record<string, string> = {}): Promise<SandboxResult> {
    if (!(options.timeoutMs > 0)) throw new Error(`sandbox timeout must be positive, got ${options.timeoutMs} ms`);
    const maxBytes = options.maxOutputBytes ?? defaultMaxOutput;
    const output = new BoundedOutput(maxBytes);
    const started = Date.now();
    // The server enforces the limit; if it cannot (a command killed it), the container goes.
    const watchdog = setTimeout(() => void this.engine.kill(this.id).catch(() => undefined), options.timeoutMs + WATCHDOG_SLACK_MS);
    try {
      const exit = await this.channel.run(
        { cmd: options.command, cwd: SANDBOX_WORKDIR, env: { ...env, ...(options.env ?? {}) }, timeoutMs: options.timeoutMs, maxBytes },
        (chunk) => {
          output.append(chunk);
          options.onOutput?.(chunk.toString('utf8'));
        },
      );
      if (exit.oomCount >= 0) this.oomsSeen = exit.oomCount;
      if (exit.error && exit.code === null) throw new Error(exit.error);
      if (exit.tail !== null) output.finishWith(exit.total, Buffer.from(exit.tail, 'base64'));
      const signal = exit.signal ?? undefined;
      const exitCode = exit.code ?? (signal ? 128 + signalNumber(signal) : 1);
      const text = exit.error ? `${output.toString()}${exit.error}\n` : output.toString();
      return {
        exitCode,
        ...(signal ? { signal } : {}),
        timedOut: exit.timedOut,
        ...(exit.oom ? { oomKilled: true } : {}),
        ...(hitFileSizeLimit(exitCode, signal, text) ? { diskLimitHit: true } : {}),
        ...(hitFullDisk(exitCode, text) ? { diskFull: true } : {}),
        durationMs: Date.now() - started,
        output: text,
        outputBytes: output.totalBytes,
        truncated: output.truncated,
      };
    } catch (e) {
      if (!(e instanceof ServerGoneError)) throw e;
      // The server died under the command: it killed it, the kernel did (memory), or the watchdog did.
      const elapsed = Date.now() - started;
      const timedOut = elapsed >= options.timeoutMs;
      const flagged = await this.wasOomKilled();
      const oom = endedByOom(flagged, this.oomsSeen);
      const note = `\n[the sandbox container ended during the command${oom ? ': out of memory' : timedOut ? ': killed at the time limit' : ''}: ${e.message}]\n`;
      output.append(Buffer.from(note));
      return {
        exitCode: 137,
        signal: 'SIGKILL',
        timedOut,
        ...(oom ? { oomKilled: true } : {}),
        durationMs: elapsed,
        output: output.toString(),
        outputBytes: output.totalBytes,
        truncated: output.truncated,
      };
    } finally {
      clearTimeout(watchdog);
    }
  }

  /** Ends everything in the container and removes it. */
  /** Kills the container at once, whatever runs in it (a cancelled job); shutdown() still removes it. */
  async kill(): Promise<void> {
    await this.engine.kill(this.id).catch(() => undefined);
  }

  async shutdown(): Promise<void> {
    if (!this.channel.isGone) {
      this.channel.bye();
      const gone = new Promise<void>((resolve) => this.channel.onGone(() => resolve()));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([gone, new Promise<void>((resolve) => (timer = setTimeout(resolve, BYE_TIMEOUT_MS)))]);
      clearTimeout(timer);
    }
    await this.renamed;
    // Killed first, so no process can still write into the worktree when it moves back.
    await this.engine.kill(this.id).catch(() => undefined);
    await this.engine.remove(this.id);
  }

  private async wasOomKilled(): Promise<boolean> {
    try {
      return await this.engine.oomKilled(this.id);
    } catch {
      return false;
    }
  }
}
