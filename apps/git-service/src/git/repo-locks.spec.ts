import { RepoLocks } from './repo-locks.js';

describe('RepoLocks', () => {
  it('runs work on one repository one at a time, in arrival order', async () => {
    const locks = new RepoLocks();
    const log: string[] = [];
    const work = (name: string, ms: number) =>
      locks.run('example/greeter', async () => {
        log.push(`${name} start`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`${name} end`);
        return name;
      });
    expect(await Promise.all([work('a', 20), work('b', 1), work('c', 5)])).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
  });

  it('lets different repositories run side by side and survives a failure', async () => {
    const locks = new RepoLocks();
    const log: string[] = [];
    const slow = locks.run('one', async () => {
      log.push('one start');
      await new Promise((r) => setTimeout(r, 20));
      log.push('one end');
    });
    await locks.run('two', async () => void log.push('two'));
    await slow;
    expect(log).toEqual(['one start', 'two', 'one end']);
    await expect(locks.run('one', async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(await locks.run('one', async () => 'after')).toBe('after');
  });
});
