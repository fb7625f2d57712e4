/**
 * Subjects carry their version: agency.cmd.<service>.<action>.v<N> (work-queue stream, one durable
 * pull consumer per service) and agency.evt.<service>.<event>.v<N> (limits stream: the audit log).
 */
export const SERVICE_NAMES = ['orchestrator', 'router', 'registry', 'agent-runner', 'reviewer', 'git-service', 'llm-gateway', 'cli'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export const SUBJECT_ROOT = 'agency';
export const COMMAND_PREFIX = `${SUBJECT_ROOT}.cmd`;
export const EVENT_PREFIX = `${SUBJECT_ROOT}.evt`;
export const DEAD_LETTER_PREFIX = `${SUBJECT_ROOT}.dlq`;

export const STREAMS = {
  /** Work queue: a command is removed once its service acks it. */
  commands: { name: 'AGENCY_CMD', subjects: [`${COMMAND_PREFIX}.>`] },
  /** Limits retention: every event is kept for replay and audit. */
  events: { name: 'AGENCY_EVT', subjects: [`${EVENT_PREFIX}.>`] },
  /** Poison and exhausted messages, with the reason in headers. */
  deadLetters: { name: 'AGENCY_DLQ', subjects: [`${DEAD_LETTER_PREFIX}.>`] },
} as const;

export const BUCKETS = {
  sagas: 'agency-sagas',
  jobs: 'agency-jobs',
  leases: 'agency-leases',
  budgets: 'agency-budgets',
  /** Create-once keys that guard side effects against redelivery. */
  once: 'agency-once',
  artifacts: 'agency-artifacts',
  /** git-service: which FR run a PR belongs to, for webhooks. */
  prs: 'agency-prs',
  /** Repository facts the agent-runner saw at a base commit, under `repoStatsKey(repo)`; the router scores repo_size from them. */
  repos: 'agency-repos',
} as const;

/**
 * Buckets several services write. Each service has its own key space in them, `<service>.<rest>`
 * (`ownedKey`), and its NATS user may write, delete and read only there: a compromised reviewer
 * cannot forge or erase the agent-runner's once-keys, nor the registry the orchestrator's lease
 * (libs/messaging/src/bus-permissions.ts). Keys of the shape before (one token, e.g.
 * `agent-runner_FR-1-r1_plan_1`) are read, never written, while they can still exist (see docs/architecture.md).
 */
export const SHARED_BUCKETS = [BUCKETS.once, BUCKETS.leases] as const;
export type SharedBucket = (typeof SHARED_BUCKETS)[number];

/** A key in `owner`'s space of a shared bucket; `rest` may hold dots (more tokens) but must not be empty. */
export function ownedKey(owner: ServiceName, rest: string): string {
  if (rest === '' || rest.startsWith('.') || rest.endsWith('.') || rest.includes('..')) throw new Error(`KV key "${rest}" of ${owner}: empty token`);
  return `${owner}.${rest}`;
}

/**
 * The value under `repoStatsKey(repo)` in BUCKETS.repos: written by the agent-runner each time a
 * plan lists the repository's files at its base commit, read by the router when it scores an FR.
 */
export interface RepoStatsRecord {
  fileCount: number;
  sizeBytes: number;
  /** The commit the files were listed at. */
  baseSha: string;
  /** ISO time of the listing. */
  at: string;
}

/** KV key of a repository's stats: `repo.<name>` with every character outside [A-Za-z0-9_=-] made `_`. */
export function repoStatsKey(repo: string): string {
  return `repo.${repo.replace(/[^A-Za-z0-9_=-]/g, '_')}`;
}

/** Headers the transport sets on every message besides the W3C trace context. */
export const HEADERS = {
  msgId: 'Nats-Msg-Id',
  frId: 'Agency-Fr-Id',
  sagaId: 'Agency-Saga-Id',
  jobId: 'Agency-Job-Id',
  type: 'Agency-Type',
  deadLetterReason: 'Agency-Dead-Letter-Reason',
  deadLetterSubject: 'Agency-Original-Subject',
  deadLetterService: 'Agency-Dead-Letter-Service',
  deadLetterDeliveries: 'Agency-Deliveries',
  deadLetterStreamSeq: 'Agency-Original-Stream-Seq',
} as const;

export type CommandSubject<S extends string, N extends string, V extends number> = `agency.cmd.${S}.${N}.v${V}`;
export type EventSubject<S extends string, N extends string, V extends number> = `agency.evt.${S}.${N}.v${V}`;

export function commandSubject<S extends ServiceName, N extends string, V extends number = 1>(
  service: S,
  action: N,
  version: V = 1 as V,
): CommandSubject<S, N, V> {
  return `agency.cmd.${service}.${action}.v${version}`;
}

export function eventSubject<S extends ServiceName, N extends string, V extends number = 1>(service: S, event: N, version: V = 1 as V): EventSubject<S, N, V> {
  return `agency.evt.${service}.${event}.v${version}`;
}

export function deadLetterSubject(service: string, originalSubject: string): string {
  return `${DEAD_LETTER_PREFIX}.${service}.${originalSubject.replaceAll('.', '_')}`;
}

/**
 * The dedupe key JetStream uses to drop a republished message inside its window. A message of a
 * job names the job: each lap of a saga (a retry, a review round) has a job of its own whose
 * steps and attempts count again (the registry's first dispatch of a retry's job was dropped as a
 * repeat of the first lap's, and the saga waited in the queue for ever).
 */
export function messageDedupeId(env: { sagaId: string; jobId?: string; step: string; attempt: number; type: string }): string {
  return env.jobId ? `${env.sagaId}:${env.jobId}:${env.step}:${env.attempt}:${env.type}` : `${env.sagaId}:${env.step}:${env.attempt}:${env.type}`;
}
