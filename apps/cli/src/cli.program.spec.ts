import { CommanderError, type Command } from 'commander';
import { AgencyApi, type SagaSummary } from './api.client.js';
import { cliProgram, watchSeconds } from './cli.program.js';

const summary: SagaSummary = {
  frId: 'FR-7',
  sagaId: 'FR-7-r1',
  title: 'Seven',
  state: 'cancelled',
  step: 'code',
  attempt: 2,
  round: 1,
  costUsd: 0,
  traceId: 'f'.repeat(32),
  updatedAt: '2025-01-01T00:00:00.000Z',
};

describe('agency command line', () => {
  let api: AgencyApi;
  let out: string[];
  let err: string[];
  const savedExitCode = process.exitCode;
  const savedUser = process.env.AGENCY_USER;

  /** Parses argv as the shell would pass it; commander's own errors throw instead of exiting. */
  const agency = async (...argv: string[]) => {
    const program = cliProgram(() => api);
    const quiet = (c: Command) => c.exitOverride().configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => err.push(s) });
    quiet(program).commands.forEach(quiet);
    await program.parseAsync(argv, { from: 'user' });
  };

  beforeEach(() => {
    api = new AgencyApi('http://orchestrator.test', 'http://registry.test', 'http://git.test');
    out = [];
    err = [];
    process.env.AGENCY_USER = 'ada';
    vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    vi.spyOn(console, 'error').mockImplementation((line: string) => void err.push(line));
  });

  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = savedExitCode;
    if (savedUser === undefined) delete process.env.AGENCY_USER;
    else process.env.AGENCY_USER = savedUser;
  });

  it('reads --watch as seconds: a number, or 2 when given bare', () => {
    expect(watchSeconds('1')).toBe(1);
    expect(watchSeconds('0.5')).toBe(0.5);
    for (const bad of ['0', '-1', 'soon', '', 'Infinity']) expect(() => watchSeconds(bad), bad).toThrow(`expected a positive number of seconds, got "${bad}"`);
  });

  it('refuses a --watch that is not a number of seconds before calling anything', async () => {
    const get = vi.spyOn(api, 'get');
    await expect(agency('status', '--watch', 'soon')).rejects.toMatchObject({ code: 'commander.invalidArgument', exitCode: 1 });
    expect(err.join('')).toContain(`option '--watch [seconds]' argument 'soon' is invalid. expected a positive number of seconds, got "soon"`);
    expect(get).not.toHaveBeenCalled();
  });

  it('prints the table once without --watch', async () => {
    const get = vi.spyOn(api, 'get').mockResolvedValue({ sagas: [summary] });
    await agency('status');
    // Asked once by a person: not a poll, so the orchestrator traces and logs it.
    expect(get).toHaveBeenCalledWith('http://orchestrator.test', '/sagas', { poll: false });
    expect(out.join('\n')).toContain('FR-7');
    expect(process.exitCode).toBe(0);
  });

  it('sends approve, reject, cancel and retry to the FR with who asked and their options', async () => {
    const post = vi.spyOn(api, 'post').mockResolvedValue(summary);
    await agency('approve', 'FR-7', '--comment', 'looks right');
    await agency('reject', 'FR-7');
    await agency('cancel', 'FR-7', '--reason', 'wrong idea');
    await agency('retry', 'FR-7');
    expect(post.mock.calls).toEqual([
      ['http://orchestrator.test', '/sagas/FR-7/approve', { by: 'ada', comment: 'looks right' }],
      ['http://orchestrator.test', '/sagas/FR-7/reject', { by: 'ada' }],
      ['http://orchestrator.test', '/sagas/FR-7/cancel', { by: 'ada', reason: 'wrong idea' }],
      ['http://orchestrator.test', '/sagas/FR-7/retry', { by: 'ada' }],
    ]);
    expect(out).toEqual(Array(4).fill('FR-7: cancelled (code, attempt 2)'));
    expect(process.exitCode).toBe(0);
  });

  it('escapes the FR id in the path', async () => {
    const post = vi.spyOn(api, 'post').mockResolvedValue(summary);
    await agency('cancel', 'FR 7/x');
    expect(post.mock.calls[0]![1]).toBe('/sagas/FR%207%2Fx/cancel');
  });

  it("prints the service's error on one line and exits 1", async () => {
    vi.spyOn(api, 'post').mockRejectedValue(new Error('POST /sagas/FR-404/approve: 404 no saga for FR-404'));
    await agency('approve', 'FR-404');
    expect(err).toEqual(['agency: POST /sagas/FR-404/approve: 404 no saga for FR-404']);
    expect(process.exitCode).toBe(1);
  });

  it('wants an FR id for the commands that steer one', async () => {
    for (const command of ['approve', 'reject', 'cancel', 'retry', 'go', 'merge', 'trace', 'logs']) {
      await expect(agency(command), command).rejects.toBeInstanceOf(CommanderError);
      expect(err.pop()).toContain("missing required argument 'frId'");
    }
  });

  it('rejects an unknown command', async () => {
    await expect(agency('stauts')).rejects.toMatchObject({ code: 'commander.unknownCommand' });
    expect(err.join('')).toContain("unknown command 'stauts'");
  });
});
