import type { JetStreamClient } from '@nats-io/jetstream';

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
 * Reads what a stream holds without consuming it (message get by sequence, no consumer: a
 * work-queue stream allows no second overlapping consumer), optionally for one subject pattern.
 */
export async function readStream(js: JetStreamClient, stream: string, filterSubject?: string): Promise<StoredMessage[]> {
  const jsm = await js.jetstreamManager();
  const info = await jsm.streams.info(stream);
  const out: StoredMessage[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq += 1) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (!m) continue;
    if (filterSubject && !subjectMatches(filterSubject, m.subject)) continue;
    const headers: Record<string, string> = {};
    for (const [k, v] of m.header ?? []) headers[k] = v.join(',');
    out.push({ subject: m.subject, seq: m.seq, headers, text: m.string() });
  }
  return out;
}
