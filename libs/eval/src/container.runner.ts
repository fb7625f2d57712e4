import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dockerCliParentEnv } from '@agency/stack';

/** The agent-runner's sandbox image: the same tools the agency's tests ran with. */
export const DEFAULT_EVAL_IMAGE = 'localhost/agency/sandbox:latest';
/** The sandbox image's own user; a root harness hands it the folders it mounts. */
const SANDBOX_UID = 1000;
/** The CA bundle an install container trusts: the agent-runner's (a TLS-inspecting proxy's CA included), else the system's. */
const caBundle = () => process.env.SANDBOX_CA_BUNDLE ?? '/etc/ssl/certs/ca-certificates.crt';
const OUTPUT_TAIL = 6000;

export interface ContainerRun {
  exitCode: number;
  timedOut: boolean;
  durationMs: number;
  output: string;
}

export interface ContainerOptions {
  /** Mounted read-write at /work, the command's working directory. */
  dir: string;
  command: string;
  timeoutMs: number;
  /**
   * `none` for anything that runs code an agent wrote. `registry` (only for installs at the base
   * commit the suite's author chose): Docker's default network, with the host's CA bundle so a
   * TLS-inspecting proxy on the way to the registry is trusted.
   */
  network: 'none' | 'registry';
}

/** Commands in a hardened, throw-away container (no capabilities, read-only root, limits), never on the host. */
export class ContainerRunner {
  constructor(readonly image = DEFAULT_EVAL_IMAGE) {}

  /** The uid:gid the container runs as; a root harness gives it the folder first. */
  private user(dir: string): string {
    const uid = process.getuid?.() ?? SANDBOX_UID;
    if (uid !== 0) return `${uid}:${process.getgid?.() ?? uid}`;
    execFileSync('chown', ['-R', `${SANDBOX_UID}:${SANDBOX_UID}`, dir]);
    return `${SANDBOX_UID}:${SANDBOX_UID}`;
  }

  /** Fails with a clear message when no engine answers or the image is missing. */
  check(): void {
    try {
      execFileSync('docker', ['image', 'inspect', this.image], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000, env: dockerCliParentEnv(process.env) });
    } catch (e) {
      const detail = (e as { stderr?: Buffer }).stderr?.toString('utf8').trim().split('\n')[0] || (e as Error).message;
      throw new Error(`the hidden tests run in Docker: docker image inspect ${this.image} failed: ${detail} (scripts/docker/prepare-for-tests.sh builds it)`);
    }
  }

  run(o: ContainerOptions): Promise<ContainerRun> {
    const name = `agency-eval-${randomBytes(6).toString('hex')}`;
    const network =
      o.network === 'none'
        ? ['--network', 'none']
        : existsSync(caBundle())
          ? ['-v', `${caBundle()}:/etc/agency-ca.crt:ro`, '-e', 'NODE_EXTRA_CA_CERTS=/etc/agency-ca.crt', '-e', 'npm_config_cafile=/etc/agency-ca.crt']
          : [];
    const args = [
      'run',
      '--rm',
      '--name',
      name,
      '--label',
      'agency.eval=1',
      '--read-only',
      '--tmpfs',
      '/tmp:rw,exec,size=512m',
      '--cap-drop',
      'ALL',
      '--security-opt',
      'no-new-privileges',
      '--pids-limit',
      '512',
      '--memory',
      '2g',
      '--cpus',
      '2',
      '--user',
      this.user(o.dir),
      '-e',
      'HOME=/tmp',
      '-e',
      'CI=1',
      '-e',
      'npm_config_update_notifier=false',
      '-e',
      'npm_config_fund=false',
      '-e',
      'npm_config_audit=false',
      ...network,
      '-v',
      `${o.dir}:/work`,
      '-w',
      '/work',
      '--entrypoint',
      'sh',
      this.image,
      '-c',
      o.command,
    ];
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const child = spawn('docker', args, { env: dockerCliParentEnv(process.env), stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      const keep = (chunk: Buffer) => {
        output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        execFile('docker', ['rm', '-f', name], { env: dockerCliParentEnv(process.env) }, () => undefined);
      }, o.timeoutMs);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ exitCode: code ?? -1, timedOut, durationMs: Date.now() - started, output });
      });
    });
  }
}
