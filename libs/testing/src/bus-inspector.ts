import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';

export interface StoredMessage {
  subject: string;
  seq: number;
  headers: Record<string, string>;
  text: string;
}

/** NATS subject matching: `*` is one token, `>` the rest. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i += 1) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

/**
 * Reads everything a stream holds without consuming it, optionally only one subject pattern
 * (filtered here: nats-server 2.9 ordered consumers take no filter_subjects).
 */
export async function readStream(js: JetStreamClient, stream: string, filterSubject?: string): Promise<StoredMessage[]> {
  const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.All });
  const info = await consumer.info(true);
  const out: StoredMessage[] = [];
  let pending = info.num_pending;
  while (pending > 0) {
    const batch = await consumer.fetch({ max_messages: Math.min(pending, 256), expires: 2000 });
    let got = 0;
    for await (const m of batch) {
      got += 1;
      const headers: Record<string, string> = {};
      for (const [k, v] of m.headers ?? []) headers[k] = v.join(',');
      if (!filterSubject || subjectMatches(filterSubject, m.subject)) out.push({ subject: m.subject, seq: m.seq, headers, text: m.string() });
    }
    if (got === 0) break;
    pending -= got;
  }
  await consumer.delete().catch(() => undefined);
  return out;
}
