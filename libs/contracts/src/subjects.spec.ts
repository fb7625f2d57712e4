import { messageDedupeId } from './subjects.js';

describe('messageDedupeId', () => {
  const dispatched = { sagaId: 'FR-2-r1', step: 'dispatch', attempt: 1, type: 'agency.evt.registry.job-dispatched.v1' };

  it('is the same for a message published again, so JetStream drops the repeat', () => {
    expect(messageDedupeId({ ...dispatched, jobId: 'job-FR-2-r1' })).toBe(messageDedupeId({ ...dispatched, jobId: 'job-FR-2-r1' }));
  });

  it("differs between two laps' jobs whose steps and attempts count from the start again", () => {
    expect(messageDedupeId({ ...dispatched, jobId: 'job-FR-2-r1' })).not.toBe(messageDedupeId({ ...dispatched, jobId: 'job-FR-2-r1-l2' }));
  });

  it('keeps the saga, step, attempt and type of a message without a job', () => {
    expect(messageDedupeId(dispatched)).toBe('FR-2-r1:dispatch:1:agency.evt.registry.job-dispatched.v1');
  });
});
