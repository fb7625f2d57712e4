import { endedByOom, hitFileSizeLimit, hitFullDisk } from './sandbox-container.js';

describe('endedByOom', () => {
  it("trusts Docker's container-wide flag only while no earlier command of the container was an OOM kill", () => {
    expect(endedByOom(true, 0)).toBe(true);
    expect(endedByOom(false, 0)).toBe(false);
    // An earlier command was OOM-killed: the flag is still set from it and says nothing about this one.
    expect(endedByOom(true, 1)).toBe(false);
    // The server could not read its cgroup's counter: the flag is all there is.
    expect(endedByOom(true, -1)).toBe(true);
  });
});

describe('hitFileSizeLimit', () => {
  it("knows a write past the per-file cap by its signal, a shell's report of it, or EFBIG", () => {
    expect(hitFileSizeLimit(153, 'SIGXFSZ', '')).toBe(true);
    expect(hitFileSizeLimit(153, undefined, 'sh: 1: File size limit exceeded\n')).toBe(true);
    expect(hitFileSizeLimit(1, undefined, 'Error: EFBIG: file too large, write\n')).toBe(true);
    expect(hitFileSizeLimit(0, undefined, 'a test named "File size limit exceeded" passed\n')).toBe(false);
    expect(hitFileSizeLimit(1, undefined, 'EFBIGGER is not the code\n')).toBe(false);
  });
});

describe('hitFullDisk', () => {
  it('is a failed command that met ENOSPC, as dd, shells or node print it', () => {
    expect(hitFullDisk(1, "dd: error writing '/workspace/repo/f': No space left on device\n")).toBe(true);
    expect(hitFullDisk(1, 'Error: ENOSPC: no space left on device, write\n')).toBe(true);
  });

  it('is not a command that succeeded, nor a word that only contains the code', () => {
    expect(hitFullDisk(0, 'a test named "No space left on device" passed\n')).toBe(false);
    expect(hitFullDisk(1, 'ENOSPCX is not the code\n')).toBe(false);
  });
});
