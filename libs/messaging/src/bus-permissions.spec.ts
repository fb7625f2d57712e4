import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUCKETS, Messages, SERVICE_NAMES, SHARED_BUCKETS, type AnyMessageDef, type MessageName } from '@agency/contracts';
import { BUS_ROLES, BUS_USERS, busPermissions, commandOwners, inboxPrefixFor, mayPublish, subjectMatches, type BusUser } from './bus-permissions.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const defs = Object.entries(Messages) as Array<[MessageName, AnyMessageDef]>;
const isService = (u: BusUser) => (SERVICE_NAMES as readonly string[]).includes(u) && u !== 'cli';

describe('subjectMatches (NATS wildcards)', () => {
  it.each([
    ['a.b.c', 'a.b.c', true],
    ['a.*.c', 'a.b.c', true],
    ['a.*', 'a.b.c', false],
    ['a.>', 'a.b.c', true],
    ['a.>', 'a', false],
    ['a.b', 'a.b.c', false],
    ['a.b.c', 'a.b', false],
  ])('%s ~ %s: %s', (p, s, want) => expect(subjectMatches(p, s)).toBe(want));
});

describe('the bus permission table', () => {
  it.each(BUS_USERS)('%s may publish exactly the catalogue messages it owns or sends', (user) => {
    for (const [name, def] of defs) {
      const own = def.kind === 'evt' && def.service === user;
      const sends = def.kind === 'cmd' && BUS_ROLES[user].sendsCommands === true && def.service !== user;
      expect(mayPublish(user, def.subject), `${user} publishing ${name} (${def.subject})`).toBe(own || sends);
    }
    // Nor anything outside the catalogue's names in another service's namespace.
    for (const other of SERVICE_NAMES.filter((s) => s !== user)) {
      expect(mayPublish(user, `agency.evt.${other}.made-up.v1`), `${user} -> ${other} event`).toBe(false);
      expect(mayPublish(user, `agency.dlq.${other}.x`), `${user} -> ${other} dead letter`).toBe(false);
    }
  });

  it('lets only the orchestrator send commands, and not to itself', () => {
    const senders = BUS_USERS.filter((u) => defs.some(([, d]) => d.kind === 'cmd' && mayPublish(u, d.subject)));
    expect(senders).toEqual(['orchestrator']);
    expect(mayPublish('orchestrator', Messages.GateApprove.subject)).toBe(false);
  });

  it.each(BUS_USERS)('%s pulls only from its own durable consumers, and acks only those', (user) => {
    for (const owner of commandOwners()) {
      const mine = owner === user;
      expect(mayPublish(user, `$JS.API.CONSUMER.MSG.NEXT.AGENCY_CMD.${owner}-cmd`), `${user} pulling ${owner}-cmd`).toBe(mine);
      expect(mayPublish(user, `$JS.API.CONSUMER.CREATE.AGENCY_CMD.${owner}-cmd.agency.cmd.${owner}.>`), `${user} creating ${owner}-cmd`).toBe(mine);
      expect(mayPublish(user, `$JS.ACK.AGENCY_CMD.${owner}-cmd.1.2.3.4.0`), `${user} acking ${owner}-cmd`).toBe(mine);
    }
    const evtDurable = user === 'orchestrator';
    expect(mayPublish(user, '$JS.API.CONSUMER.MSG.NEXT.AGENCY_EVT.orchestrator-evt')).toBe(evtDurable);
    expect(mayPublish(user, '$JS.API.CONSUMER.DELETE.AGENCY_EVT.orchestrator-evt')).toBe(false);
    expect(mayPublish(user, '$JS.API.CONSUMER.DELETE.AGENCY_CMD.router-cmd')).toBe(false);
  });

  it('lets the CLI and the dashboard read the audit log through consumers of their own, and nothing else', () => {
    for (const user of ['cli', 'dashboard'] as const) {
      expect(mayPublish(user, '$JS.API.CONSUMER.CREATE.AGENCY_EVT.oc_abc123')).toBe(true);
      expect(mayPublish(user, '$JS.API.CONSUMER.MSG.NEXT.AGENCY_EVT.oc_abc123')).toBe(true);
      expect(mayPublish(user, '$JS.API.CONSUMER.CREATE.AGENCY_EVT.orchestrator-evt.agency.evt.>')).toBe(false);
      expect(mayPublish(user, '$JS.API.CONSUMER.CREATE.AGENCY_CMD.oc_abc123')).toBe(false);
      expect(mayPublish(user, '$JS.API.STREAM.UPDATE.AGENCY_EVT')).toBe(false);
      expect(mayPublish(user, '$KV.agency-sagas.saga.FR-1-r1')).toBe(false);
      expect(busPermissions(user).publish.allow.filter((s) => /^agency\./.test(s))).toEqual([]);
    }
  });

  it('gives KV and object-store access only as each role says: writers publish, readers only read', () => {
    const kvBuckets = Object.values(BUCKETS).filter((b) => b !== BUCKETS.artifacts);
    for (const user of BUS_USERS) {
      const role = BUS_ROLES[user];
      for (const b of kvBuckets) {
        const access = (role.kv as Record<string, string> | undefined)?.[b];
        // In a shared bucket a user's keys start with its name.
        const key = (SHARED_BUCKETS as readonly string[]).includes(b) ? `${user}.some.key` : 'some.key';
        expect(mayPublish(user, `$KV.${b}.${key}`), `${user} writes ${b}`).toBe(access === 'write');
        expect(mayPublish(user, `$JS.API.DIRECT.GET.KV_${b}.$KV.${b}.${key}`), `${user} reads ${b}`).toBe(access !== undefined);
        // Nobody changes a bucket's limits: one writer could expire every other writer's keys.
        expect(mayPublish(user, `$JS.API.STREAM.UPDATE.KV_${b}`), `${user} updates ${b}`).toBe(false);
      }
      expect(mayPublish(user, '$O.agency-artifacts.C.abc'), `${user} writes artifacts`).toBe(role.artifacts === 'write');
      expect(mayPublish(user, '$JS.API.STREAM.MSG.GET.OBJ_agency-artifacts'), `${user} reads artifacts`).toBe(role.artifacts !== undefined);
    }
  });

  it('makes every bucket that several principals write a shared one, with a key space per writer', () => {
    const kvBuckets = Object.values(BUCKETS).filter((b) => b !== BUCKETS.artifacts);
    const writers = (b: string) => BUS_USERS.filter((u) => (BUS_ROLES[u].kv as Record<string, string> | undefined)?.[b] === 'write');
    expect(kvBuckets.filter((b) => writers(b).length > 1).sort()).toEqual([...SHARED_BUCKETS].sort());
  });

  describe.each(SHARED_BUCKETS)('in the shared bucket %s', (b) => {
    const writers = BUS_USERS.filter((u) => (BUS_ROLES[u].kv as Record<string, string> | undefined)?.[b] === 'write');
    const pairs = writers.flatMap((a) => writers.filter((o) => o !== a).map((o) => [a, o] as const));
    const stream = `KV_${b}`;

    it.each(writers)('%s writes, deletes, purges, reads and watches its own keys', (user) => {
      // A KV put, delete and per-key purge are all publishes to the key's subject.
      expect(mayPublish(user, `$KV.${b}.${user}.x`)).toBe(true);
      expect(mayPublish(user, `$KV.${b}.${user}.cancelled.job-1`)).toBe(true);
      expect(mayPublish(user, `$JS.API.DIRECT.GET.${stream}.$KV.${b}.${user}.x`)).toBe(true);
      expect(mayPublish(user, `$JS.API.CONSUMER.CREATE.${stream}.oc_1.$KV.${b}.${user}.cancelled.>`)).toBe(true);
      expect(mayPublish(user, `$JS.API.STREAM.INFO.${stream}`)).toBe(true);
      expect(mayPublish(user, `$JS.API.STREAM.CREATE.${stream}`)).toBe(true);
    });

    it.each(pairs)("%s cannot write, delete, purge, read or watch %s's keys", (user, other) => {
      expect(mayPublish(user, `$KV.${b}.${other}.x`)).toBe(false);
      expect(mayPublish(user, `$JS.API.DIRECT.GET.${stream}.$KV.${b}.${other}.x`)).toBe(false);
      expect(mayPublish(user, `$JS.API.CONSUMER.CREATE.${stream}.oc_1.$KV.${b}.${other}.>`)).toBe(false);
    });

    it.each(writers)('%s has no way around the key in the subject: no payload-addressed read, consumer or bucket-wide change', (user) => {
      for (const subject of [
        `$JS.API.STREAM.MSG.GET.${stream}`,
        `$JS.API.DIRECT.GET.${stream}`,
        `$JS.API.CONSUMER.CREATE.${stream}`,
        `$JS.API.CONSUMER.CREATE.${stream}.oc_1`,
        `$JS.API.CONSUMER.CREATE.${stream}.oc_1.$KV.${b}.>`,
        `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.d`,
        `$JS.API.STREAM.UPDATE.${stream}`,
        `$JS.API.STREAM.PURGE.${stream}`,
        `$JS.API.STREAM.MSG.DELETE.${stream}`,
        `$JS.API.STREAM.DELETE.${stream}`,
        `$KV.${b}.x`,
      ])
        expect(mayPublish(user, subject), subject).toBe(false);
    });

    it.each(writers)('%s may read, never write, a key of the shape before the key spaces (one token)', (user) => {
      expect(mayPublish(user, `$JS.API.DIRECT.GET.${stream}.$KV.${b}.${user}_FR-1-r1_plan_1`)).toBe(true);
      expect(mayPublish(user, `$KV.${b}.${user}_FR-1-r1_plan_1`)).toBe(false);
    });
  });

  it('never lets anyone delete or purge the agency streams or buckets, or subscribe outside its own inbox', () => {
    for (const user of BUS_USERS) {
      for (const s of ['AGENCY_CMD', 'AGENCY_EVT', 'AGENCY_DLQ', 'KV_agency-sagas', 'KV_agency-jobs', 'OBJ_agency-artifacts']) {
        expect(mayPublish(user, `$JS.API.STREAM.DELETE.${s}`), `${user} deletes ${s}`).toBe(false);
        if (s !== 'OBJ_agency-artifacts') expect(mayPublish(user, `$JS.API.STREAM.PURGE.${s}`), `${user} purges ${s}`).toBe(false);
      }
      expect(busPermissions(user).subscribe.allow).toEqual([`_INBOX.${user}.>`]);
      expect(inboxPrefixFor(user)).toBe(`_INBOX.${user}`);
    }
  });
});

// The table must follow the code: scan each app's sources for what it handles, publishes and opens.
function sources(dir: string): string {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? [sources(join(dir, e.name))] : e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [readFileSync(join(dir, e.name), 'utf8')] : [],
    )
    .join('\n');
}

describe('the table against the code of each app', () => {
  const code = Object.fromEntries(BUS_USERS.map((u) => [u, sources(join(ROOT, 'apps', u, 'src'))])) as Record<BusUser, string>;

  it.each(BUS_USERS)('%s: every message it handles or names is one it may consume or publish', (user) => {
    const handled = new Set([...code[user].matchAll(/@OnMessage\(\s*Messages\.(\w+)\.subject/g)].map((m) => m[1] as MessageName));
    for (const name of handled) {
      const def = Messages[name];
      const consumable = def.kind === 'cmd' ? def.service === user : BUS_ROLES[user].handlesEvents === true;
      expect(consumable, `${user} handles ${name} but may not consume it`).toBe(true);
    }
    for (const m of code[user].matchAll(/Messages\.(\w+)\b/g)) {
      const name = m[1] as MessageName;
      const def = Messages[name];
      if (!def || handled.has(name)) continue;
      // A reference to an event of another service is the saga matching it (it consumes all events),
      // or a reader of the audit log (CLI, dashboard) describing what it read.
      const readsAll = BUS_ROLES[user].handlesEvents === true || BUS_ROLES[user].readsEvents === true;
      const ok = mayPublish(user, def.subject) || (def.kind === 'evt' && readsAll) || (def.kind === 'cmd' && def.service === user);
      expect(ok, `${user} names ${name} (${def.subject}) but may neither publish nor consume it`).toBe(true);
    }
  });

  it.each(BUS_USERS)('%s: opens exactly the buckets its role grants', (user) => {
    const text = code[user];
    const used = new Set<string>([
      ...[...text.matchAll(/BUCKETS\.(\w+)/g)].map((m) => BUCKETS[m[1] as keyof typeof BUCKETS]),
      ...[...text.matchAll(/'(agency-[a-z]+)'/g)].map((m) => m[1]!).filter((b) => (Object.values(BUCKETS) as string[]).includes(b)),
    ]);
    // The shared stores of libs/messaging, injected by class.
    if (/\bnew Lease\(/.test(text)) used.add(BUCKETS.leases);
    if (/\bIdempotencyStore\b/.test(text)) used.add(BUCKETS.once);
    if (/\bArtifactStore\b/.test(text)) used.add(BUCKETS.artifacts);
    const role = BUS_ROLES[user];
    const granted = new Set<string>([...Object.keys(role.kv ?? {}), ...(role.artifacts ? [BUCKETS.artifacts] : [])]);
    expect([...used].sort(), user).toEqual([...granted].sort());
    if (used.has(BUCKETS.artifacts)) expect(role.artifacts === 'write', `${user} writes artifacts`).toBe(/artifacts\.put(Json)?\(/.test(text));
  });

  it.each(BUS_USERS)('%s: keys it names in a shared bucket are in its own key space', (user) => {
    const text = code[user];
    // Leases and once-keys get the owner from their constructor; a store it opens itself, from ownedKey.
    for (const m of text.matchAll(/new Lease\([^,]+,[^,]+,\s*'([^']+)'/g)) expect(m[1], `${user} names a lease of`).toBe(user);
    for (const m of text.matchAll(/ownedKey\(\s*'([^']+)'/g)) expect(m[1], `${user} names a key of`).toBe(user);
    const opensShared = SHARED_BUCKETS.some((b) => new RegExp(`BUCKETS\\.${Object.entries(BUCKETS).find(([, v]) => v === b)![0]}\\b`).test(text));
    if (opensShared) expect(text, `${user} opens a shared bucket: its keys come from ownedKey`).toMatch(new RegExp(`ownedKey\\(\\s*'${user}'`));
  });

  it('the services that handle events and read the audit log are the ones whose code does', () => {
    for (const user of BUS_USERS) {
      const text = code[user];
      const handlesEvents = [...text.matchAll(/@OnMessage\(\s*Messages\.(\w+)\.subject/g)].some((m) => Messages[m[1] as MessageName]?.kind === 'evt');
      expect(BUS_ROLES[user].handlesEvents === true, `${user} handles events`).toBe(handlesEvents);
      const readsEvents = !isService(user) && /STREAMS\.events\.name/.test(text);
      expect(BUS_ROLES[user].readsEvents === true, `${user} reads the audit log`).toBe(readsEvents);
    }
  });
});
