import type { IncomingHttpHeaders } from 'node:http';
import { POLL_HEADER } from '@agency/contracts';

/**
 * A read the client repeats only to watch state (POLL_HEADER on a GET). Only the client knows a
 * read is a poll: `agency status` and `agency up` read the same GET /sagas, and the first is a
 * person asking once, worth its trace. Probes and scrapes are recognised by their paths instead.
 */
export function isPollRequest(method: string | undefined, headers: IncomingHttpHeaders): boolean {
  return method === 'GET' && headers[POLL_HEADER] !== undefined;
}

/** A poll answered without an error: it leaves no span and only a debug-level request line. */
export function isQuietPoll(method: string | undefined, headers: IncomingHttpHeaders, statusCode: number, failed = false): boolean {
  return isPollRequest(method, headers) && !failed && statusCode < 400;
}
