import type { ArtifactRefDto, WorkspaceRefDto } from '@agency/contracts';
import { sampleEnvelope } from '@agency/contracts/testing';
import { createLogger } from '@agency/telemetry';
import { expectEventually } from '@agency/testing';
import type { ExportedWork, JobWorkspace } from '../git/workspace.service.js';
import { CheckpointHandover } from './checkpoint-handover.js';

const BASE = 'b'.repeat(40);
const ws: JobWorkspace = { jobId: 'job-1', dir: '/w/job-1', branch: 'agency/fr-1', baseSha: BASE, mirrorDir: '/m/repo', gitDir: '/m/repo/worktrees/job-1' };

/** The worktree's head moves when a test says so; exporting it can be made to fail. */
class FakeWorkspaces {
  head = BASE;
  failExport?: Error;
  opened: WorkspaceRefDto[] = [];
  async headOf() {
    return this.head;
  }
  exports = 0;
  async exportBundle(): Promise<Pick<ExportedWork, 'headSha' | 'bundle'>> {
    if (this.failExport) throw this.failExport;
    this.exports += 1;
    return { headSha: this.head, bundle: new TextEncoder().encode(`bundle of ${this.head}`) };
  }
  async commitSubjects() {
    return [`commit ${this.head.slice(0, 1)}`];
  }
  async openAt(_jobId: string, _repo: unknown, ref: WorkspaceRefDto) {
    this.opened.push(ref);
    return ws;
  }
}

/** The object store as a map; every write is recorded in order. */
class FakeArtifacts {
  stored = new Map<string, Uint8Array>();
  writes: string[] = [];
  async put(key: string, data: Uint8Array | string, contentType: string): Promise<ArtifactRefDto> {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    this.stored.set(key, bytes);
    this.writes.push(key);
    return { key, size: bytes.byteLength, sha256: 'x'.repeat(64), contentType };
  }
  async putJson(key: string, value: unknown) {
    return this.put(key, JSON.stringify(value), 'application/json');
  }
  async find(key: string) {
    const data = this.stored.get(key);
    return data ? { ref: { key, size: data.byteLength, sha256: 'x'.repeat(64), contentType: '' }, data } : undefined;
  }
  note(key: string): { headSha: string; bundle: ArtifactRefDto; reason: string } {
    return JSON.parse(new TextDecoder().decode(this.stored.get(key)!)) as { headSha: string; bundle: ArtifactRefDto; reason: string };
  }
}

function setup() {
  const workspaces = new FakeWorkspaces();
  const artifacts = new FakeArtifacts();
  const logged: Array<{ level: 'info' | 'warn'; msg: string }> = [];
  const logger = createLogger({ service: 'test', level: 'silent' });
  logger.info = ((_fields: unknown, msg: string) => void logged.push({ level: 'info', msg })) as typeof logger.info;
  logger.warn = ((_fields: unknown, msg: string) => void logged.push({ level: 'warn', msg })) as typeof logger.warn;
  const handover = new CheckpointHandover(workspaces, artifacts, logger);
  const env = sampleEnvelope('Code', { frId: 'FR-1', sagaId: 'saga-1', step: 'code-r1', attempt: 1 });
  return { workspaces, artifacts, logged, handover, env };
}

const NOTE = 'FR-1/saga-1/code-r1-a1.checkpoint.json';

describe('CheckpointHandover.live', () => {
  it('hands each new head over, alternating bundle slots, and nothing when the head did not move', async () => {
    const { workspaces, artifacts, logged, handover, env } = setup();
    const live = handover.live(env, ws, BASE, 0);
    workspaces.head = '1'.repeat(40);
    live.poke();
    await expectEventually(() => expect(artifacts.note(NOTE).headSha).toBe('1'.repeat(40)));
    const firstSlot = artifacts.note(NOTE).bundle.key;
    live.poke();
    await expectEventually(() => expect(logged.filter((l) => l.msg === 'checkpoints handed over')).toHaveLength(1));
    workspaces.head = '2'.repeat(40);
    live.poke();
    await expectEventually(() => expect(artifacts.note(NOTE).headSha).toBe('2'.repeat(40)));
    await live.finish();
    // The bundle goes first, then the note naming it; the second head went to the other slot.
    expect(artifacts.writes).toEqual([firstSlot, NOTE, artifacts.note(NOTE).bundle.key, NOTE]);
    expect(artifacts.note(NOTE).bundle.key).not.toBe(firstSlot);
    expect(artifacts.note(NOTE).reason).toBe('its runner stopped in the middle of it');
  });

  it('a handover that fails is logged, never thrown, and the final leave still writes', async () => {
    const { workspaces, artifacts, logged, handover, env } = setup();
    const live = handover.live(env, ws, BASE, 0);
    workspaces.head = '1'.repeat(40);
    workspaces.failExport = new Error('object store unavailable');
    live.poke();
    await expectEventually(() => expect(logged.map((l) => l.level)).toEqual(['warn']));
    workspaces.failExport = undefined;
    expect(await live.leave('the model call timed out')).toBe(true);
    expect(artifacts.note(NOTE)).toMatchObject({ headSha: '1'.repeat(40), reason: 'the model call timed out' });
  });

  it('a redelivered attempt writes the slot its earlier delivery did not name, and resumes from that delivery', async () => {
    const { workspaces, artifacts, handover, env } = setup();
    workspaces.head = '1'.repeat(40);
    expect(await handover.leave(env, ws, BASE, 'killed')).toBe(true);
    const named = artifacts.note(NOTE).bundle.key;

    const resumed = await handover.resume(env, BASE);
    expect(resumed?.note).toEqual({ attempt: 1, reason: 'killed', commits: ['commit 1'] });
    expect(workspaces.opened).toEqual([{ branch: ws.branch, baseSha: BASE, headSha: '1'.repeat(40), bundle: artifacts.note(NOTE).bundle }]);

    const again = handover.live(env, ws, BASE, 0);
    workspaces.head = '2'.repeat(40);
    again.poke();
    await expectEventually(() => expect(artifacts.note(NOTE).headSha).toBe('2'.repeat(40)));
    await again.finish();
    expect(artifacts.note(NOTE).bundle.key).not.toBe(named);
  });

  it('nothing is handed over, or even bundled, before the first commit', async () => {
    const { artifacts, handover, env, workspaces } = setup();
    expect(await handover.leave(env, ws, BASE, 'failed at once')).toBe(false);
    expect(artifacts.writes).toEqual([]);
    expect(workspaces.exports).toBe(0);
  });
});
