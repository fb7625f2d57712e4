import { mkdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { Messages, type FrRefusedEvent } from '@agency/contracts';
import { expectEventually } from '@agency/testing';
import { OrchestratorHarness } from './support/orchestrator-harness.js';

const fr = (id: string, title: string, extra = '') => `---\nid: ${id}\ntitle: ${title}\n${extra}---\n## Acceptance criteria\n- works\n`;

describe('intake that cannot be starved: every file judged on its own (real nats-server and vault)', () => {
  let h: OrchestratorHarness;

  beforeAll(async () => {
    h = await OrchestratorHarness.start();
    await expectEventually(async () => expect((await h.sagas.currentRun('FR-001'))?.value.sagaId).toBe('FR-001-r1'));
  });

  afterAll(async () => {
    await h?.stop();
  });

  const refusedEvents = async (frId: string) => (await h.events<FrRefusedEvent>(Messages.FrRefused.subject)).filter((e) => e.frId === frId);

  it('refuses a 10 MB file, a binary one and an unreadable one untouched, each with its reason, and takes the valid FR behind them', async () => {
    const huge = Buffer.from(`${fr('FR-040', 'Huge')}${'x'.repeat(10 * 1024 * 1024)}\n`);
    const binary = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0xff, 0xfe]);
    h.planned('FR-040-huge.md', huge);
    h.planned('FR-041-binary.md', binary);
    // A path the intake cannot read as a file (reading it fails with EISDIR).
    mkdirSync(join(h.vault, '10_features', '03_planned', 'FR-042-unreadable.md'));
    h.planned('FR-043-ok.md', fr('FR-043', 'Behind the bad ones'));

    await expectEventually(async () => expect((await h.sagas.currentOf('FR-043'))?.value.state).toBeDefined());
    await expectEventually(() =>
      expect(h.inFolder('09_blocked')).toEqual(expect.arrayContaining(['FR-040-huge.md', 'FR-041-binary.md', 'FR-042-unreadable.md'])),
    );
    expect(h.inFolder('03_planned')).toEqual([]);
    // Never rewritten: the bytes are the ones the person wrote.
    expect(h.file('09_blocked', 'FR-040-huge.md').equals(huge)).toBe(true);
    expect(h.file('09_blocked', 'FR-041-binary.md').equals(binary)).toBe(true);
    // No run was claimed for a refused file.
    for (const id of ['FR-040', 'FR-041', 'FR-042']) expect(await h.sagas.currentRun(id)).toBeUndefined();

    const { refused } = await h.list();
    expect(refused.map((r) => [r.frId, r.code, r.now])).toEqual(
      expect.arrayContaining([
        ['FR-040', 'TOO_LARGE', '10_features/09_blocked/FR-040-huge.md'],
        ['FR-041', 'BINARY', '10_features/09_blocked/FR-041-binary.md'],
        ['FR-042', 'UNREADABLE', '10_features/09_blocked/FR-042-unreadable.md'],
      ]),
    );
    expect(refused.find((r) => r.frId === 'FR-040')!.reason).toBe(`the file is ${huge.length} bytes; FR files may be at most 100000 bytes (FR_MAX_BYTES)`);
    expect(refused.find((r) => r.frId === 'FR-041')!.reason).toBe('the file is binary (a NUL byte at offset 8), not markdown text');
    expect(refused.find((r) => r.frId === 'FR-042')!.reason).toMatch(/^the file cannot be read: EISDIR/);
    const refusedAt = await refusedEvents('FR-040');
    expect(refusedAt.map((e) => e.payload)).toEqual([
      {
        path: '10_features/03_planned/FR-040-huge.md',
        now: '10_features/09_blocked/FR-040-huge.md',
        code: 'TOO_LARGE',
        problems: [refused.find((r) => r.frId === 'FR-040')!.reason],
      },
    ]);
    // The API names the refusal for the FR.
    const res = await h.http('GET', '/sagas/FR-041');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { message: string }).message).toBe(
      'no saga for FR-041: the intake refused it (BINARY): the file is binary (a NUL byte at offset 8), not markdown text (file: 10_features/09_blocked/FR-041-binary.md)',
    );
  });

  it("refuses a second file with an id already in use, naming the other file, and leaves the first one's run alone", async () => {
    h.planned('FR-050-first.md', fr('FR-050', 'First'));
    await expectEventually(async () => expect((await h.sagas.currentOf('FR-050'))?.value.frPath).toBe('10_features/04_in_progress/FR-050-first.md'));
    const second = fr('FR-050', 'Second with the same id');
    h.planned('FR-050-second.md', second);
    await expectEventually(() => expect(h.inFolder('09_blocked')).toContain('FR-050-second.md'));
    expect(h.file('09_blocked', 'FR-050-second.md').toString()).toBe(second);
    const run = (await h.sagas.currentOf('FR-050'))!.value;
    expect(run).toMatchObject({ sagaId: 'FR-050-r1', state: 'discovered' });
    expect((await refusedEvents('FR-050')).map((e) => e.payload)).toEqual([
      {
        path: '10_features/03_planned/FR-050-second.md',
        now: '10_features/09_blocked/FR-050-second.md',
        code: 'DUPLICATE_ID',
        problems: ['id: FR-050 is already used by 10_features/04_in_progress/FR-050-first.md; give this FR an id of its own'],
      },
    ]);
  });

  it('refuses a cycle of depends_on, and holds an FR whose dependency is unknown, reporting it once', async () => {
    h.planned('FR-070-a.md', fr('FR-070', 'A', 'depends_on: [FR-071]\n'));
    h.planned('FR-071-b.md', fr('FR-071', 'B', 'depends_on: [FR-070]\n'));
    h.planned('FR-060-waits.md', fr('FR-060', 'Waits', 'depends_on: [FR-999]\n'));
    await expectEventually(() => expect(h.inFolder('09_blocked')).toEqual(expect.arrayContaining(['FR-070-a.md', 'FR-071-b.md'])));
    expect(h.file('09_blocked', 'FR-070-a.md').toString()).toMatch(
      /^blocked_reason: "?depends_on: FR-070 -> FR-071 -> FR-070 is a cycle; none of them can ever start/m,
    );
    await expectEventually(async () =>
      expect((await h.list()).refused.find((r) => r.frId === 'FR-060')).toMatchObject({
        code: 'DEPENDENCY_UNKNOWN',
        now: '10_features/03_planned/FR-060-waits.md',
      }),
    );
    // A file dropped later is taken by a later scan, which looked at FR-060 again (it sorts first): still one report.
    h.planned('FR-062-later.md', fr('FR-062', 'Later'));
    await expectEventually(async () => expect((await h.sagas.currentOf('FR-062'))?.value.frPath).toBe('10_features/04_in_progress/FR-062-later.md'));
    expect(h.inFolder('03_planned')).toEqual(['FR-060-waits.md']);
    expect((await refusedEvents('FR-060')).map((e) => e.payload.problems)).toEqual([
      ['depends_on: FR-999 is not an FR of this vault (no file in 10_features, no run); FR-060 waits until there is one'],
    ]);
  });

  it('leaves a file that does not parse yet alone while it is being written, takes it once complete, and refuses it only once it has settled broken', async () => {
    const planned = (name: string) => join(h.vault, '10_features', '03_planned', name);
    // Half written: the front matter is cut. Its time of writing is put ahead so that it is still settling at every scan of this test.
    h.planned('FR-080-being-written.md', '---\nid: FR-08');
    const ahead = new Date(Date.now() + 60 * 60_000);
    utimesSync(planned('FR-080-being-written.md'), ahead, ahead);
    // A scan that took the file sorted after it has looked at it.
    h.planned('FR-081-after.md', fr('FR-081', 'After'));
    await expectEventually(async () => expect((await h.sagas.currentOf('FR-081'))?.value.state).toBeDefined());
    expect(h.inFolder('03_planned')).toContain('FR-080-being-written.md');
    expect(await refusedEvents('FR-080')).toEqual([]);
    // The writer finishes: the FR is taken as written.
    h.planned('FR-080-being-written.md', fr('FR-080', 'Written in two goes'));
    await expectEventually(async () => expect((await h.sagas.currentOf('FR-080'))?.value.frPath).toBe('10_features/04_in_progress/FR-080-being-written.md'));
    expect(await refusedEvents('FR-080')).toEqual([]);

    // Broken and settled a moment later (FR_SETTLE_MS is 2 s): annotated and moved to blocked without any other file or scan asking.
    h.planned('FR-082-broken.md', '---\nid: FR-082\n');
    const soon = new Date(Date.now() + 1000);
    utimesSync(planned('FR-082-broken.md'), soon, soon);
    await expectEventually(() => expect(h.inFolder('09_blocked')).toContain('FR-082-broken.md'), { timeoutMs: 20_000, message: 'FR-082 refused once settled' });
    expect((await refusedEvents('FR-082')).map((e) => e.payload.code)).toEqual(['INVALID']);
  });
});
