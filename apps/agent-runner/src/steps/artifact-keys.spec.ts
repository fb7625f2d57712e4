import { ArtifactKeys } from './artifact-keys.js';

describe('ArtifactKeys', () => {
  it('names attempt 1 plainly and later attempts apart, so a published artifact is never overwritten', () => {
    const first = { frId: 'FR-1', sagaId: 's', attempt: 1 };
    const again = { ...first, attempt: 3 };
    expect([
      ArtifactKeys.plan(first),
      ArtifactKeys.bundle(first, 2),
      ArtifactKeys.diff(first, 2),
      ArtifactKeys.testReport(first, 2),
      ArtifactKeys.transcript(first, 2),
    ]).toEqual(['FR-1/s/plan.json', 'FR-1/s/code-r2.bundle', 'FR-1/s/code-r2.diff', 'FR-1/s/test-r2.json', 'FR-1/s/code-r2-a1.transcript.json']);
    expect([
      ArtifactKeys.plan(again),
      ArtifactKeys.bundle(again, 2),
      ArtifactKeys.diff(again, 2),
      ArtifactKeys.testReport(again, 2),
      ArtifactKeys.transcript(again, 2),
    ]).toEqual(['FR-1/s/plan-a3.json', 'FR-1/s/code-r2-a3.bundle', 'FR-1/s/code-r2-a3.diff', 'FR-1/s/test-r2-a3.json', 'FR-1/s/code-r2-a3.transcript.json']);
  });
});
