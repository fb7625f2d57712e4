import { PassThrough } from 'node:stream';
import { CommandChannel, ServerGoneError } from './command-channel.js';

/** A channel wired to in-memory streams, with the "server" side in the test's hands. */
function wire() {
  const toServer = new PassThrough();
  const fromServer = new PassThrough();
  const diagnostics = new PassThrough();
  const channel = new CommandChannel(toServer, fromServer, diagnostics);
  const sent: Array<Record<string, unknown>> = [];
  toServer.setEncoding('utf8');
  toServer.on('data', (text: string) => {
    for (const line of text.split('\n').filter(Boolean)) sent.push(JSON.parse(line) as Record<string, unknown>);
  });
  const say = (msg: Record<string, unknown>) => fromServer.write(`${JSON.stringify(msg)}\n`);
  const tick = () => new Promise((r) => setImmediate(r));
  return { channel, sent, say, tick, fromServer, diagnostics };
}

describe('CommandChannel', () => {
  it('resolves ready with the hello, sends a run request and collects output and exit', async () => {
    const { channel, sent, say, tick } = wire();
    say({ t: 'ready', pid: 7, uid: 1000, node: 'v24.0.0', oomCount: 0 });
    await expect(channel.ready).resolves.toEqual({ pid: 7, uid: 1000, node: 'v24.0.0', oomCount: 0 });
    const chunks: string[] = [];
    const result = channel.run({ cmd: 'echo hi', cwd: '/workspace/repo', timeoutMs: 1000, maxBytes: 100 }, (c) => chunks.push(c.toString()));
    await tick();
    expect(sent).toEqual([{ t: 'run', id: 1, cmd: 'echo hi', cwd: '/workspace/repo', timeoutMs: 1000, maxBytes: 100 }]);
    say({ t: 'out', id: 1, d: Buffer.from('hi\n').toString('base64') });
    say({ t: 'out', id: 99, d: Buffer.from('not ours').toString('base64') });
    say({ t: 'exit', id: 1, code: 0, signal: null, timedOut: false, oom: false, oomCount: 2, total: 3, tail: null, ms: 4 });
    await expect(result).resolves.toEqual({ code: 0, signal: null, timedOut: false, oom: false, oomCount: 2, total: 3, tail: null, ms: 4 });
    expect(chunks).toEqual(['hi\n']);
  });

  it('parses lines split across chunks and ignores lines that are not JSON', async () => {
    const { channel, fromServer } = wire();
    fromServer.write('some banner\n{"t":"rea');
    fromServer.write('dy","pid":1,"uid":2,"node":"v"}\n');
    await expect(channel.ready).resolves.toMatchObject({ pid: 1 });
  });

  it('refuses a second command while one runs', async () => {
    const { channel, say } = wire();
    say({ t: 'ready', pid: 1, uid: 1, node: 'v' });
    void channel.run({ cmd: 'sleep 1', cwd: '/', timeoutMs: 1000, maxBytes: 10 }, () => undefined);
    await expect(channel.run({ cmd: 'true', cwd: '/', timeoutMs: 1000, maxBytes: 10 }, () => undefined)).rejects.toThrow('a command is already running');
  });

  it('rejects the running command and later ones when the server goes, with what it said on stderr', async () => {
    const { channel, say, fromServer, diagnostics, tick } = wire();
    say({ t: 'ready', pid: 1, uid: 1, node: 'v' });
    const gone: string[] = [];
    channel.onGone((e) => gone.push(e.message));
    const running = channel.run({ cmd: 'kill -9 -1', cwd: '/', timeoutMs: 1000, maxBytes: 10 }, () => undefined);
    diagnostics.write('Killed\n');
    await tick();
    fromServer.end();
    await expect(running).rejects.toBeInstanceOf(ServerGoneError);
    await expect(running).rejects.toThrow('the command server closed its output; it said: Killed');
    await expect(channel.run({ cmd: 'true', cwd: '/', timeoutMs: 1, maxBytes: 1 }, () => undefined)).rejects.toThrow(ServerGoneError);
    expect(channel.isGone).toBe(true);
    expect(gone).toHaveLength(1);
  });

  it('rejects ready when the server never starts', async () => {
    const { channel, diagnostics, fromServer, tick } = wire();
    diagnostics.write('exec: "node": executable file not found in $PATH\n');
    await tick();
    fromServer.end();
    await expect(channel.ready).rejects.toThrow('executable file not found');
  });
});
