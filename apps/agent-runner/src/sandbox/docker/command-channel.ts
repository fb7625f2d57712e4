import type { Readable, Writable } from 'node:stream';

/** What the command server says when it starts. */
export interface ServerHello {
  pid: number;
  uid: number;
  node: string;
  /** The cgroup's OOM-kill count at start; -1 when the server cannot read it. */
  oomCount: number;
}

export interface ServerRunRequest {
  cmd: string;
  cwd: string;
  env?: Record<string, string>;
  timeoutMs: number;
  maxBytes: number;
}

/** The server's report of one command (see command.server.ts). */
export interface ServerExit {
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  oom: boolean;
  /** The container's OOM-kill count after the command; -1 when unknown. */
  oomCount: number;
  /** Bytes the command wrote in all. */
  total: number;
  /** The last three quarters of maxBytes of the output, base64, when more was written than forwarded. */
  tail: string | null;
  ms: number;
  /** The command could not start at all (its working directory is gone, the server was busy). */
  error?: string;
}

/** The server ended (the container died, or a command killed it): no command can run on this channel any more. */
export class ServerGoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServerGoneError';
  }
}

const MAX_DIAGNOSTICS = 4000;

/**
 * The runner's side of the command server's protocol: JSON lines on the container's stdin and
 * stdout (the server's own stderr is kept for diagnostics). One command at a time.
 */
export class CommandChannel {
  readonly ready: Promise<ServerHello>;
  private resolveReady!: (hello: ServerHello) => void;
  private rejectReady!: (e: Error) => void;
  private nextId = 1;
  private current?: { id: number; onOutput: (chunk: Buffer) => void; resolve: (exit: ServerExit) => void; reject: (e: Error) => void };
  private pending = '';
  private diagnostics = '';
  private goneError?: ServerGoneError;
  private readonly goneListeners: Array<(e: ServerGoneError) => void> = [];

  constructor(
    private readonly input: Writable,
    output: Readable,
    diagnostics?: Readable,
  ) {
    this.ready = new Promise<ServerHello>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // Nobody may be waiting yet; the rejection is reported through run() and onGone as well.
    this.ready.catch(() => undefined);
    output.setEncoding('utf8');
    output.on('data', (text: string) => this.onText(text));
    output.once('end', () => this.gone('the command server closed its output'));
    output.once('close', () => this.gone('the command server closed its output'));
    output.once('error', (e: Error) => this.gone(`the command server's output failed: ${e.message}`));
    input.on('error', (e: Error) => this.gone(`the command server's input failed: ${e.message}`));
    diagnostics?.setEncoding('utf8');
    diagnostics?.on('data', (text: string) => {
      this.diagnostics = (this.diagnostics + text).slice(-MAX_DIAGNOSTICS);
    });
  }

  get isGone(): boolean {
    return this.goneError !== undefined;
  }

  /** Called once when the server ends, at once if it already has. */
  onGone(listener: (e: ServerGoneError) => void): void {
    if (this.goneError) listener(this.goneError);
    else this.goneListeners.push(listener);
  }

  run(request: ServerRunRequest, onOutput: (chunk: Buffer) => void): Promise<ServerExit> {
    if (this.goneError) return Promise.reject(this.goneError);
    if (this.current) return Promise.reject(new Error('a command is already running in this sandbox'));
    const id = this.nextId++;
    return new Promise<ServerExit>((resolve, reject) => {
      this.current = { id, onOutput, resolve, reject };
      this.write({ t: 'run', id, ...request });
    });
  }

  /** Asks the server to kill everything and exit. */
  bye(): void {
    if (!this.goneError) this.write({ t: 'bye' });
  }

  private write(msg: Record<string, unknown>): void {
    this.input.write(`${JSON.stringify(msg)}\n`);
  }

  private onText(text: string): void {
    this.pending += text;
    for (let nl = this.pending.indexOf('\n'); nl >= 0; nl = this.pending.indexOf('\n')) {
      const line = this.pending.slice(0, nl);
      this.pending = this.pending.slice(nl + 1);
      if (line.trim()) this.onLine(line);
    }
  }

  private onLine(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      // Not the server speaking (an image's entrypoint banner?): keep it for the diagnostics.
      this.diagnostics = (this.diagnostics + line + '\n').slice(-MAX_DIAGNOSTICS);
      return;
    }
    if (msg.t === 'ready') {
      this.resolveReady({ pid: Number(msg.pid), uid: Number(msg.uid), node: String(msg.node), oomCount: typeof msg.oomCount === 'number' ? msg.oomCount : -1 });
      return;
    }
    const current = this.current;
    if (!current || msg.id !== current.id) return;
    if (msg.t === 'out' && typeof msg.d === 'string') {
      current.onOutput(Buffer.from(msg.d, 'base64'));
    } else if (msg.t === 'exit') {
      this.current = undefined;
      current.resolve({
        code: typeof msg.code === 'number' ? msg.code : null,
        signal: typeof msg.signal === 'string' ? msg.signal : null,
        timedOut: msg.timedOut === true,
        oom: msg.oom === true,
        oomCount: typeof msg.oomCount === 'number' ? msg.oomCount : -1,
        total: typeof msg.total === 'number' ? msg.total : 0,
        tail: typeof msg.tail === 'string' ? msg.tail : null,
        ms: typeof msg.ms === 'number' ? msg.ms : 0,
        ...(typeof msg.error === 'string' ? { error: msg.error } : {}),
      });
    }
  }

  private gone(why: string): void {
    if (this.goneError) return;
    const said = this.diagnostics.trim();
    this.goneError = new ServerGoneError(`${why}${said ? `; it said: ${said.slice(-1000)}` : ''}`);
    this.rejectReady(this.goneError);
    const current = this.current;
    this.current = undefined;
    current?.reject(this.goneError);
    for (const listener of this.goneListeners.splice(0)) listener(this.goneError);
  }
}
