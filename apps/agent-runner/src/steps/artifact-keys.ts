import type { Envelope } from '@agency/contracts';

type Ids = Pick<Envelope<unknown>, 'frId' | 'sagaId'>;

/** Where each step's artifacts live in the object store: `<frId>/<sagaId>/<name>`. */
export const ArtifactKeys = {
  plan: (e: Ids) => `${e.frId}/${e.sagaId}/plan.json`,
  bundle: (e: Ids, round: number) => `${e.frId}/${e.sagaId}/code-r${round}.bundle`,
  diff: (e: Ids, round: number) => `${e.frId}/${e.sagaId}/code-r${round}.diff`,
  testReport: (e: Ids, round: number) => `${e.frId}/${e.sagaId}/test-r${round}.json`,
} as const;

export const BUNDLE_CONTENT_TYPE = 'application/x-git-bundle';
export const DIFF_CONTENT_TYPE = 'text/x-diff';
