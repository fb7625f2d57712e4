import type { Envelope } from '@agency/contracts';

type Ids = Pick<Envelope<unknown>, 'frId' | 'sagaId' | 'attempt'>;

/**
 * An event's artifacts never change after it is published: a later attempt of the same step
 * (the sweeper re-driving a slow step while the first attempt still runs) writes its own keys,
 * so the saga may act on either attempt's event and find exactly what it names. Attempt 1 keeps
 * the plain name.
 */
function name(e: Ids, base: string, ext: string): string {
  return `${e.frId}/${e.sagaId}/${base}${e.attempt > 1 ? `-a${e.attempt}` : ''}.${ext}`;
}

/** Where each step's artifacts live in the object store: `<frId>/<sagaId>/<name>`. */
export const ArtifactKeys = {
  plan: (e: Ids) => name(e, 'plan', 'json'),
  bundle: (e: Ids, round: number) => name(e, `code-r${round}`, 'bundle'),
  diff: (e: Ids, round: number) => name(e, `code-r${round}`, 'diff'),
  testReport: (e: Ids, round: number) => name(e, `test-r${round}`, 'json'),
  /** Every model and tool call of a code step, always with its attempt: a failed attempt's story is kept too. */
  transcript: (e: Ids, round: number) => `${e.frId}/${e.sagaId}/code-r${round}-a${e.attempt}.transcript.json`,
} as const;

export const BUNDLE_CONTENT_TYPE = 'application/x-git-bundle';
export const DIFF_CONTENT_TYPE = 'text/x-diff';
