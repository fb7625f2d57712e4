import {
  BUCKETS,
  COMMAND_PREFIX,
  DEAD_LETTER_PREFIX,
  EVENT_PREFIX,
  Messages,
  SERVICE_NAMES,
  SHARED_BUCKETS,
  STREAMS,
  type ServiceName,
} from '@agency/contracts';

/**
 * Who may do what on the bus: one NATS user per service, plus the CLI and the dashboard, each
 * allowed only the subjects its code uses. The table is derived here, in one place, from the
 * message catalogue (which service owns which commands and events) and from the few facts the
 * catalogue cannot say (who sends commands, who reads the audit log, which buckets a service
 * opens). The local stack and deploy/k8s render their nats-server configuration from it; unit
 * tests check it against the catalogue and against what the apps' code publishes, handles and opens.
 */

/** Principals of the bus besides the admin (operators, backups), who may do everything. */
export const BUS_USERS = [...SERVICE_NAMES, 'dashboard'] as const;
export type BusUser = (typeof BUS_USERS)[number];
export const BUS_ADMIN_USER = 'admin';

export type BucketName = (typeof BUCKETS)[keyof typeof BUCKETS];
export type KvBucketName = Exclude<BucketName, typeof BUCKETS.artifacts>;
export type Access = 'read' | 'write';

export interface BusRole {
  /** Sends the other services' commands (the saga). */
  sendsCommands?: boolean;
  /** Handles every event through its durable `<user>-evt` consumer. */
  handlesEvents?: boolean;
  /** Reads the audit log (AGENCY_EVT) through ephemeral ordered consumers. */
  readsEvents?: boolean;
  /**
   * KV buckets it opens (reading creates a missing bucket too: services start in any order). In a
   * shared bucket (SHARED_BUCKETS) the access is to its own key space `<user>.>` only.
   */
  kv?: Partial<Record<KvBucketName, Access>>;
  /** The artifact object store. */
  artifacts?: Access;
}

/** What each principal does beyond handling its own commands and emitting its own events. */
export const BUS_ROLES: Record<BusUser, BusRole> = {
  orchestrator: { sendsCommands: true, handlesEvents: true, kv: { [BUCKETS.sagas]: 'write', [BUCKETS.leases]: 'write' } },
  router: { kv: { [BUCKETS.repos]: 'read' } },
  registry: { kv: { [BUCKETS.jobs]: 'write', [BUCKETS.leases]: 'write' } },
  'agent-runner': { kv: { [BUCKETS.once]: 'write', [BUCKETS.repos]: 'write' }, artifacts: 'write' },
  reviewer: { kv: { [BUCKETS.once]: 'write' }, artifacts: 'write' },
  'git-service': { kv: { [BUCKETS.once]: 'write', [BUCKETS.prs]: 'write' }, artifacts: 'read' },
  'llm-gateway': { kv: { [BUCKETS.budgets]: 'write' } },
  cli: { readsEvents: true },
  // Reads plans, diffs, reports and transcripts for its workbench.
  dashboard: { readsEvents: true, artifacts: 'read' },
};

export interface BusPermissions {
  publish: { allow: string[]; deny: string[] };
  subscribe: { allow: string[] };
}

/** Services that own commands in the catalogue: each has the durable `<service>-cmd`. */
export function commandOwners(): ServiceName[] {
  return [
    ...new Set(
      Object.values(Messages)
        .filter((d) => d.kind === 'cmd')
        .map((d) => d.service),
    ),
  ];
}

/** Services that emit events in the catalogue (dead-letter notices included). */
export function eventOwners(): ServiceName[] {
  return [
    ...new Set(
      Object.values(Messages)
        .filter((d) => d.kind === 'evt')
        .map((d) => d.service),
    ),
  ];
}

/** Replies (JetStream API answers, pulled messages, KV watches) come to `_INBOX.<user>.…` only. */
export function inboxPrefixFor(user: string): string {
  return /^[A-Za-z0-9_-]+$/.test(user) ? `_INBOX.${user}` : '_INBOX';
}

const API = '$JS.API';
const CMD = STREAMS.commands.name;
const EVT = STREAMS.events.name;
const DLQ = STREAMS.deadLetters.name;

/** The durable pull consumer `name` on `stream`: create, read its state, pull, ack. */
function durable(stream: string, name: string): string[] {
  return [
    `${API}.CONSUMER.CREATE.${stream}.${name}`,
    `${API}.CONSUMER.CREATE.${stream}.${name}.>`,
    `${API}.CONSUMER.DURABLE.CREATE.${stream}.${name}`,
    `${API}.CONSUMER.INFO.${stream}.${name}`,
    `${API}.CONSUMER.MSG.NEXT.${stream}.${name}`,
    `$JS.ACK.${stream}.${name}.>`,
  ];
}

/** Short-lived consumers of any name on `stream` (ordered consumers, KV watches, object reads). */
function ephemeral(stream: string): string[] {
  return [
    `${API}.CONSUMER.CREATE.${stream}`,
    `${API}.CONSUMER.CREATE.${stream}.*`,
    `${API}.CONSUMER.CREATE.${stream}.*.>`,
    `${API}.CONSUMER.INFO.${stream}.*`,
    `${API}.CONSUMER.MSG.NEXT.${stream}.*`,
    `${API}.CONSUMER.DELETE.${stream}.*`,
    // Flow-control answers of push consumers.
    `$JS.FC.${stream}.>`,
  ];
}

/** Another principal's durable on a stream an ephemeral reader may use: never to be touched. */
function othersDurable(stream: string, name: string): string[] {
  return [
    `${API}.CONSUMER.*.${stream}.${name}`,
    `${API}.CONSUMER.*.${stream}.${name}.>`,
    `${API}.CONSUMER.MSG.NEXT.${stream}.${name}`,
    `${API}.CONSUMER.DURABLE.CREATE.${stream}.${name}`,
  ];
}

/** The object store's stream: read (and, since services start in any order, create); writers replace objects. */
function objectStore(stream: string, subjects: string, access: Access): string[] {
  const read = [
    `${API}.STREAM.INFO.${stream}`,
    `${API}.STREAM.CREATE.${stream}`,
    `${API}.STREAM.MSG.GET.${stream}`,
    `${API}.DIRECT.GET.${stream}`,
    `${API}.DIRECT.GET.${stream}.>`,
    ...ephemeral(stream),
  ];
  // An object replaced under the same name has its old chunks purged.
  const write = [`${API}.STREAM.UPDATE.${stream}`, subjects, `${API}.STREAM.PURGE.${stream}`];
  return access === 'write' ? [...read, ...write] : read;
}

/**
 * A KV bucket: open it (creating it when missing: services start in any order), read, watch and
 * write keys. Never STREAM.UPDATE: the KV client does not need it, and limits changed by one
 * writer (max age, history) would erase every other writer's keys. In a shared bucket
 * (SHARED_BUCKETS) all of it is narrowed to the user's own key space `$KV.<bucket>.<user>.>`:
 * reads go by direct get with the key in the subject (nats.js appends it so that permissions
 * apply), watches by consumers whose filter is in the subject; the payload-addressed reads
 * (STREAM.MSG.GET, a bare DIRECT.GET, a consumer without a filter) are not allowed. Keys of the
 * shape before the key spaces (one token, no owner) may still be read, never written: see
 * docs/architecture.md, "KV key spaces".
 */
function kvBucket(name: KvBucketName, user: BusUser, access: Access): string[] {
  const stream = `KV_${name}`;
  const open = [`${API}.STREAM.INFO.${stream}`, `${API}.STREAM.CREATE.${stream}`];
  if (!(SHARED_BUCKETS as readonly string[]).includes(name)) {
    const read = [...open, `${API}.STREAM.MSG.GET.${stream}`, `${API}.DIRECT.GET.${stream}`, `${API}.DIRECT.GET.${stream}.>`, ...ephemeral(stream)];
    return access === 'write' ? [...read, `$KV.${name}.>`] : read;
  }
  const own = `$KV.${name}.${user}.>`;
  const read = [
    ...open,
    `${API}.DIRECT.GET.${stream}.${own}`,
    `${API}.DIRECT.GET.${stream}.$KV.${name}.*`,
    `${API}.CONSUMER.CREATE.${stream}.*.${own}`,
    `${API}.CONSUMER.INFO.${stream}.*`,
    `${API}.CONSUMER.MSG.NEXT.${stream}.*`,
    `${API}.CONSUMER.DELETE.${stream}.*`,
    `$JS.FC.${stream}.>`,
  ];
  return access === 'write' ? [...read, own] : read;
}

/** Creating the agency's three streams, or bringing their limits up to date (every service does at boot). */
function agencyStreams(): string[] {
  return [CMD, EVT, DLQ].flatMap((s) => [`${API}.STREAM.INFO.${s}`, `${API}.STREAM.CREATE.${s}`, `${API}.STREAM.UPDATE.${s}`]);
}

/** The permissions of one principal, as nats-server's `permissions` block takes them. */
export function busPermissions(user: BusUser): BusPermissions {
  const role = BUS_ROLES[user];
  const service = (SERVICE_NAMES as readonly string[]).includes(user) ? (user as ServiceName) : undefined;
  const allow = new Set<string>([`${API}.INFO`]);
  const deny = new Set<string>();
  const add = (list: string[], to = allow) => list.forEach((s) => to.add(s));

  // A service of the catalogue runs the transport: it creates the streams, emits its events and
  // dead-letters what it gives up on.
  if (service && (eventOwners().includes(service) || commandOwners().includes(service))) {
    add([...agencyStreams(), `${EVENT_PREFIX}.${service}.>`, `${DEAD_LETTER_PREFIX}.${service}.>`]);
  }
  if (service && commandOwners().includes(service)) add(durable(CMD, `${service}-cmd`));
  if (role.sendsCommands)
    add(
      commandOwners()
        .filter((s) => s !== service)
        .map((s) => `${COMMAND_PREFIX}.${s}.>`),
    );
  if (role.handlesEvents) add(durable(EVT, `${user}-evt`));
  if (role.readsEvents) {
    add([`${API}.STREAM.INFO.${EVT}`, ...ephemeral(EVT)]);
    for (const owner of BUS_USERS.filter((u) => u !== user && BUS_ROLES[u].handlesEvents)) add(othersDurable(EVT, `${owner}-evt`), deny);
  }
  for (const [name, access] of Object.entries(role.kv ?? {}) as Array<[KvBucketName, Access]>) add(kvBucket(name, user, access));
  if (role.artifacts) add(objectStore(`OBJ_${BUCKETS.artifacts}`, `$O.${BUCKETS.artifacts}.>`, role.artifacts));

  return { publish: { allow: [...allow].sort(), deny: [...deny].sort() }, subscribe: { allow: [`${inboxPrefixFor(user)}.>`] } };
}

/** NATS subject matching: `*` is one token, `>` one or more at the end. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i += 1) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

/** Whether nats-server would let `user` publish to `subject` under busPermissions(user). */
export function mayPublish(user: BusUser, subject: string): boolean {
  const { publish } = busPermissions(user);
  return publish.allow.some((p) => subjectMatches(p, subject)) && !publish.deny.some((p) => subjectMatches(p, subject));
}
