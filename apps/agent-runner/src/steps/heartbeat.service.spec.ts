import { Messages, type AnyMessageDef, type Envelope } from '@agency/contracts';
import { sampleEnvelope } from '@agency/contracts/testing';
import { Clock, type BusPublisher, type PublishOptions } from '@agency/messaging';
import { createLogger } from '@agency/telemetry';
import type { AgentRunnerConfig } from '../agent-runner.config.js';
import { HeartbeatService } from './heartbeat.service.js';
import type { Timers } from './timers.js';

class ManualTimers {
  callbacks = new Map<number, () => void>();
  intervals: number[] = [];
  private next = 0;
  every(ms: number, fn: () => void) {
    const id = this.next++;
    this.intervals.push(ms);
    this.callbacks.set(id, fn);
    return () => void this.callbacks.delete(id);
  }
  fire() {
    for (const fn of this.callbacks.values()) fn();
  }
}

describe('HeartbeatService', () => {
  it('beats at once and on every tick, each with its own msgId, until stopped', async () => {
    const sent: Array<{ type: string; payload: unknown; msgId?: string }> = [];
    const bus = {
      reply: async (_e: Envelope<unknown>, def: AnyMessageDef, payload: unknown, _o: unknown, options: PublishOptions) => {
        sent.push({ type: def.type, payload, ...(options.msgId ? { msgId: options.msgId } : {}) });
      },
    };
    const clock = new Clock();
    clock.uuid = () => 'abcdef12-0000-4000-8000-000000000000';
    const timers = new ManualTimers();
    const service = new HeartbeatService(
      bus as unknown as BusPublisher,
      timers as unknown as Timers,
      clock,
      { HEARTBEAT_SECONDS: 7 } as AgentRunnerConfig,
      createLogger({ service: 'test', level: 'silent' }),
    );
    const env = sampleEnvelope('Test', { sagaId: 's-9', step: 'test-r2', attempt: 3 });

    const beat = service.start(env, 'running tests');
    timers.fire();
    timers.fire();
    await beat.stop();
    timers.fire();

    expect(timers.intervals).toEqual([7000]);
    expect(sent).toEqual(
      [0, 1, 2].map((n) => ({ type: Messages.AgentHeartbeat.type, payload: { message: 'running tests' }, msgId: `s-9:test-r2:3:hb:abcdef12:${n}` })),
    );
  });

  it('carries the latest progress in later beats', async () => {
    const sent: string[] = [];
    const bus = { reply: async (_e: Envelope<unknown>, _d: AnyMessageDef, payload: { message: string }) => void sent.push(payload.message) };
    const timers = new ManualTimers();
    const service = new HeartbeatService(
      bus as unknown as BusPublisher,
      timers as unknown as Timers,
      new Clock(),
      { HEARTBEAT_SECONDS: 1 } as AgentRunnerConfig,
      createLogger({ service: 'test', level: 'silent' }),
    );
    const beat = service.start(sampleEnvelope('Code'), 'coding FR-1');
    beat.update('step 3/30: run_command');
    timers.fire();
    await beat.stop();
    expect(sent).toEqual(['coding FR-1', 'coding FR-1: step 3/30: run_command']);
  });

  it('logs a failed beat instead of failing the step', async () => {
    const bus = { reply: () => Promise.reject(new Error('nats down')) };
    const timers = new ManualTimers();
    const warnings: string[] = [];
    const logger = createLogger({ service: 'test', level: 'silent' });
    logger.warn = ((_obj: unknown, msg: string) => void warnings.push(msg)) as typeof logger.warn;
    const service = new HeartbeatService(
      bus as unknown as BusPublisher,
      timers as unknown as Timers,
      new Clock(),
      { HEARTBEAT_SECONDS: 1 } as AgentRunnerConfig,
      logger,
    );
    const beat = service.start(sampleEnvelope('Plan'), 'planning');
    await expect(beat.stop()).resolves.toBeUndefined();
    expect(warnings).toEqual(['heartbeat not published']);
  });
});
