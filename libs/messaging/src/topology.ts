import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { STREAMS } from '@agency/contracts';

export interface TopologyOptions {
  /** 1 on a single server; 3 in a production cluster. */
  replicas: number;
  /** JetStream drops a republished Nats-Msg-Id seen within this window. */
  duplicateWindowMs: number;
  eventMaxAgeMs: number;
  deadLetterMaxAgeMs: number;
}

export const DEFAULT_TOPOLOGY: TopologyOptions = {
  replicas: 1,
  duplicateWindowMs: 2 * 60_000,
  eventMaxAgeMs: 30 * 24 * 3600_000,
  deadLetterMaxAgeMs: 90 * 24 * 3600_000,
};

const DAY_MS = 24 * 3600_000;

function streamConfigs(o: TopologyOptions): Array<Partial<StreamConfig> & { name: string }> {
  const common = { storage: StorageType.File, num_replicas: o.replicas, duplicate_window: nanos(o.duplicateWindowMs), discard: DiscardPolicy.Old };
  return [
    // Commands are removed once acked; the age limit only bounds what nobody ever consumes.
    { ...common, name: STREAMS.commands.name, subjects: [...STREAMS.commands.subjects], retention: RetentionPolicy.Workqueue, max_age: nanos(7 * DAY_MS) },
    { ...common, name: STREAMS.events.name, subjects: [...STREAMS.events.subjects], retention: RetentionPolicy.Limits, max_age: nanos(o.eventMaxAgeMs) },
    {
      ...common,
      name: STREAMS.deadLetters.name,
      subjects: [...STREAMS.deadLetters.subjects],
      retention: RetentionPolicy.Limits,
      max_age: nanos(o.deadLetterMaxAgeMs),
    },
  ];
}

function isCode(e: unknown, code: number): boolean {
  return e instanceof JetStreamApiError && e.code === code;
}

/** Creates the agency's streams, or brings their limits up to date; safe to run from every service at boot. */
export async function ensureStreams(jsm: JetStreamManager, options: TopologyOptions = DEFAULT_TOPOLOGY): Promise<void> {
  for (const cfg of streamConfigs(options)) {
    try {
      const info = await jsm.streams.info(cfg.name);
      const c = info.config;
      if (c.max_age !== cfg.max_age || c.duplicate_window !== cfg.duplicate_window || c.subjects.join() !== cfg.subjects?.join()) {
        const { name: _name, retention: _r, storage: _s, ...updatable } = cfg;
        await jsm.streams.update(cfg.name, { ...c, ...updatable });
      }
    } catch (e) {
      if (!isCode(e, JetStreamApiCodes.StreamNotFound)) throw e;
      try {
        await jsm.streams.add(cfg);
      } catch (addError) {
        // Another service created it between our info and add.
        if (!/already in use/i.test((addError as Error).message)) throw addError;
      }
    }
  }
}

export interface ConsumerSpec {
  stream: string;
  durable: string;
  filterSubject: string;
  ackWaitMs: number;
  maxAckPending: number;
}

/** A durable pull consumer with explicit acks; redelivery limits are the transport's job. */
export async function ensureConsumer(jsm: JetStreamManager, spec: ConsumerSpec): Promise<void> {
  const config = {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(spec.ackWaitMs),
    filter_subject: spec.filterSubject,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: spec.maxAckPending,
    // The transport counts deliveries and dead-letters; the server must never silently stop redelivering.
    max_deliver: -1,
  };
  try {
    const info = await jsm.consumers.info(spec.stream, spec.durable);
    if (info.config.filter_subject !== spec.filterSubject) {
      throw new Error(
        `consumer ${spec.durable} on ${spec.stream} filters ${info.config.filter_subject}, expected ${spec.filterSubject}; delete it to let it be recreated`,
      );
    }
    if (info.config.ack_wait !== config.ack_wait || info.config.max_ack_pending !== config.max_ack_pending) {
      await jsm.consumers.update(spec.stream, spec.durable, { ack_wait: config.ack_wait, max_ack_pending: config.max_ack_pending });
    }
  } catch (e) {
    if (!isCode(e, JetStreamApiCodes.ConsumerNotFound)) throw e;
    await jsm.consumers.add(spec.stream, config);
  }
}
