import { progressLine } from './up.command.js';

describe('agency up progress', () => {
  const stack = { natsUrl: 'nats://127.0.0.1:4222', url: (s: string) => `http://127.0.0.1:72${s.length}`, logFile: (s: string) => `/run/logs/${s}.log` };

  it('prints each process as it becomes ready, with its URL, how long it took and its log', () => {
    expect(progressLine({ kind: 'ready', process: 'registry', ms: 4210 }, stack)).toBe(
      'registry     http://127.0.0.1:728  ready in 4.2 s  (log /run/logs/registry.log)',
    );
    expect(progressLine({ kind: 'ready', process: 'nats-server', ms: 120 }, stack)).toBe('NATS       nats://127.0.0.1:4222  ready in 0.1 s');
    expect(progressLine({ kind: 'starting', process: 'registry' }, stack)).toBeUndefined();
  });

  it('says what it reaped and why', () => {
    expect(
      progressLine({ kind: 'reaped', what: ['router (pid 7)', 'nats-server (pid 9)'], why: 'left running by an earlier start on this run directory' }, stack),
    ).toBe('reaped     router (pid 7), nats-server (pid 9) (left running by an earlier start on this run directory)');
  });
});
