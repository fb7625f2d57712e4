import { startSandboxRig, type SandboxRig } from './support/docker-sandbox.js';
import type { SandboxSession } from '../src/sandbox/sandbox.js';

const HOG = 'node -e "const a = []; for (;;) a.push(Buffer.alloc(16 * 1024 * 1024, 1))"';

/**
 * Issue 12 item 8: an out-of-memory kill is reported for the command it hit, not for every later
 * failure in the same sandbox (Docker's State.OOMKilled stays true for the container's life).
 */
describe('DockerSandbox: out of memory is reported per command', () => {
  let rig: SandboxRig;
  let session: SandboxSession;

  beforeAll(async () => {
    rig = await startSandboxRig({ SANDBOX_POOL_SIZE: 0 });
    session = await rig.sandbox.open({ workspace: rig.workspace('job-oom'), jobId: 'job-oom' });
  });

  afterAll(async () => {
    await session?.close();
    await rig?.dispose();
  });

  it('says so for the memory hog, and not for the failures that follow it in the same session', async () => {
    const hog = await session.exec({ command: HOG, timeoutMs: 60_000 });
    expect(hog).toMatchObject({ exitCode: 137, oomKilled: true });

    const plain = await session.exec({ command: 'echo failing normally; exit 3', timeoutMs: 30_000 });
    expect(plain).toMatchObject({ exitCode: 3, timedOut: false });
    expect(plain.oomKilled).toBeUndefined();

    // A command that takes the command server down with it (the container ends): Docker's
    // container-wide OOMKilled flag is still set from the hog, yet this was no memory kill.
    const killer = await session.exec({ command: 'kill -9 -1; sleep 5', timeoutMs: 30_000 });
    expect(killer.exitCode).toBe(137);
    expect(killer.oomKilled).toBeUndefined();
    expect(killer.output).not.toContain('out of memory');

    // The next command gets a fresh container and runs normally.
    const after = await session.exec({ command: 'echo fresh; exit 4', timeoutMs: 30_000 });
    expect(after).toMatchObject({ exitCode: 4, output: 'fresh\n' });
    expect(after.oomKilled).toBeUndefined();
  });
});
