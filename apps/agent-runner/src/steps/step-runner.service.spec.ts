import { JobAborts } from './job-aborts.js';
import { APIError } from 'openai';
import { Messages, type AnyMessageDef, type Envelope } from '@agency/contracts';
import { sampleEnvelope, samplePayloads } from '@agency/contracts/testing';
import { LlmAnswerError } from '@agency/llm-client';
import type { BusPublisher, IdempotencyStore, PublishOptions } from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import type { HeartbeatService } from './heartbeat.service.js';
import { StepFailure } from './step-failure.js';
import { StepRunner } from './step-runner.service.js';
import type { JobCancellations } from './job-cancellations.js';
import { JobLocks } from './job-locks.js';

interface Sent {
  type: string;
  payload: unknown;
  options?: PublishOptions;
}

class FakeBus {
  sent: Sent[] = [];
  async reply(_env: Envelope<unknown>, def: AnyMessageDef, payload: unknown, _o?: unknown, options?: PublishOptions) {
    this.sent.push({ type: def.type, payload, ...(options ? { options } : {}) });
    return { envelope: {} as Envelope<unknown>, streamSeq: this.sent.length, duplicate: false };
  }
}

class FakeOnce {
  readonly recorded = new Map<string, unknown>();
  async once<T>(key: string, action: () => Promise<T>): Promise<{ result: T; replayed: boolean }> {
    if (this.recorded.has(key)) return { result: this.recorded.get(key) as T, replayed: true };
    const result = await action();
    this.recorded.set(key, result);
    return { result, replayed: false };
  }
}

class FakeHeartbeats {
  log: string[] = [];
  start(env: Envelope<unknown>, message: string) {
    this.log.push(`start ${env.step}: ${message}`);
    return { update: (m: string) => void this.log.push(`update: ${m}`), stop: async () => void this.log.push('stop') };
  }
}

describe('StepRunner', () => {
  let bus: FakeBus;
  let once: FakeOnce;
  let heartbeats: FakeHeartbeats;
  let runner: StepRunner;
  let cancelled: Set<string>;
  const env = sampleEnvelope('Code', { step: 'code-r1', attempt: 2 });
  const coded = samplePayloads.Coded;

  beforeEach(() => {
    bus = new FakeBus();
    once = new FakeOnce();
    heartbeats = new FakeHeartbeats();
    cancelled = new Set<string>();
    const cancellations = { isCancelled: async (jobId: string) => cancelled.has(jobId) } as unknown as JobCancellations;
    runner = new StepRunner(
      bus as unknown as BusPublisher,
      once as unknown as IdempotencyStore,
      heartbeats as unknown as HeartbeatService,
      cancellations,
      new JobLocks(),
      createLogger({ service: 'test', level: 'silent' }),
      new JobAborts(),
      { settle: async () => undefined, activity: () => undefined },
    );
  });

  it('runs two attempts of one job one after the other, never at once', async () => {
    const log: string[] = [];
    const step = (name: string, ms: number) => async () => {
      log.push(`${name} start`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`${name} end`);
      return coded;
    };
    await Promise.all([runner.run(env, Messages.Coded, 'coding', step('a1', 50)), runner.run({ ...env, attempt: 3 }, Messages.Coded, 'coding', step('a3', 5))]);
    expect(log).toEqual(['a1 start', 'a1 end', 'a3 start', 'a3 end']);
  });

  it("waits for the job's environment warm-up (started by its plan step) before the next step works, beating meanwhile", async () => {
    let release!: () => void;
    const warming = new Promise<void>((r) => (release = r));
    const settled: string[] = [];
    const waiting = new StepRunner(
      bus as unknown as BusPublisher,
      once as unknown as IdempotencyStore,
      heartbeats as unknown as HeartbeatService,
      { isCancelled: async () => false } as unknown as JobCancellations,
      new JobLocks(),
      createLogger({ service: 'test', level: 'silent' }),
      new JobAborts(),
      { settle: (jobId: string) => (settled.push(jobId), warming), activity: () => 'environment: npm ci' },
    );
    let worked = false;
    const run = waiting.run(env, Messages.Coded, 'coding', async () => {
      worked = true;
      return coded;
    });
    await vi.waitFor(() => expect(settled).toEqual([env.jobId]));
    expect(heartbeats.log).toEqual(['start code-r1: coding', "update: waiting for the job's environment, built since planning (environment: npm ci)"]);
    expect(worked).toBe(false);
    release();
    await run;
    expect(worked).toBe(true);
  });

  it('skips a step of a cancelled job without working, and says so', async () => {
    cancelled.add(env.jobId!);
    let worked = false;
    const outcome = await runner.run(env, Messages.Coded, 'coding', async () => {
      worked = true;
      return coded;
    });
    expect(outcome).toEqual({ ok: false, failure: { code: 'JOB_CANCELLED', reason: 'the job was cancelled', retryable: false } });
    expect(worked).toBe(false);
    expect(bus.sent.map((m) => m.type)).toEqual(['agent-runner.step-failed']);
  });

  it('beats while working, records the result under saga:step:attempt and replies with it', async () => {
    const outcome = await runner.run(env, Messages.Coded, 'coding', async () => {
      heartbeats.log.push('work');
      return coded;
    });
    expect(outcome).toEqual({ ok: true, payload: coded });
    expect(heartbeats.log).toEqual(['start code-r1: coding', 'work', 'stop']);
    expect([...once.recorded.keys()]).toEqual(['saga-1:code-r1:2']);
    expect(bus.sent).toEqual([{ type: 'agent-runner.coded', payload: coded }]);
  });

  it('passes progress to the heartbeat', async () => {
    await runner.run(env, Messages.Coded, 'coding', async (progress) => {
      progress('step 2/30: read_file');
      return coded;
    });
    expect(heartbeats.log).toEqual(['start code-r1: coding', 'update: step 2/30: read_file', 'stop']);
  });

  it('re-sends the recorded result of a redelivered command without working again', async () => {
    let runs = 0;
    const work = async () => {
      runs += 1;
      return coded;
    };
    await runner.run(env, Messages.Coded, 'coding', work);
    await runner.run(env, Messages.Coded, 'coding', work);
    expect(runs).toBe(1);
    expect(bus.sent.map((s) => s.type)).toEqual(['agent-runner.coded', 'agent-runner.coded']);
  });

  it('publishes step-failed LLM_ANSWER_INVALID for an unusable model answer and returns normally', async () => {
    const outcome = await runner.run(env, Messages.Coded, 'coding', () =>
      Promise.reject(new LlmAnswerError('model coder gave no usable JSON after one repair: first not valid JSON; then not valid JSON', 'sorry, no')),
    );
    expect(outcome.ok).toBe(false);
    expect(bus.sent).toHaveLength(1);
    expect(bus.sent[0]!.type).toBe('agent-runner.step-failed');
    expect(bus.sent[0]!.payload).toEqual({
      code: 'LLM_ANSWER_INVALID',
      reason: 'model coder gave no usable JSON after one repair: first not valid JSON; then not valid JSON. The last answer began: sorry, no',
      retryable: true,
    });
    expect(heartbeats.log.at(-1)).toBe('stop');
  });

  it('publishes a StepFailure with its own code', async () => {
    await runner.run(env, Messages.Coded, 'coding', () => Promise.reject(new StepFailure('EMPTY_CHANGE', 'nothing changed')));
    expect(bus.sent[0]!.payload).toEqual({ code: 'EMPTY_CHANGE', reason: 'nothing changed', retryable: false });
  });

  it('turns a gateway refusal into LLM_REQUEST_REJECTED, but rethrows a gateway outage', async () => {
    await runner.run(env, Messages.Coded, 'coding', () =>
      Promise.reject(new APIError(404, { message: 'unknown model alias "x"' }, 'unknown model alias "x"', undefined)),
    );
    expect(bus.sent[0]!.payload).toMatchObject({ code: 'LLM_REQUEST_REJECTED', retryable: false });
    expect((bus.sent[0]!.payload as { reason: string }).reason).toContain('HTTP 404');
    const outage = sampleEnvelope('Code', { step: 'code-r1', attempt: 3 });
    await expect(runner.run(outage, Messages.Coded, 'coding', () => Promise.reject(new APIError(503, undefined, 'down', undefined)))).rejects.toThrow('down');
  });

  it('throws git and disk errors so the transport retries, recording nothing', async () => {
    await expect(runner.run(env, Messages.Coded, 'coding', () => Promise.reject(new Error('git fetch failed')))).rejects.toThrow('git fetch failed');
    expect(once.recorded.size).toBe(0);
    expect(bus.sent).toEqual([]);
    expect(heartbeats.log).toEqual(['start code-r1: coding', 'stop']);
  });
});
