import {
  closeSync,
  constants,
  fchownSync,
  fstatSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  type Dirent,
  type Stats,
} from 'node:fs';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = constants;

/** A directory entry's name: one path component, never a separator, `.` or `..`. */
function checkName(name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) throw new Error(`"${name}" is not a single path component`);
  return name;
}

/**
 * An open directory, and the entries in it addressed relative to it, never by a path from the
 * root of the file system. Node has no openat(2); on Linux `/proc/self/fd/<fd>/<name>` is the
 * same thing: the kernel takes the directory the descriptor holds (wherever it has been moved
 * to since) and looks up only `name` in it. With O_NOFOLLOW on that one name, nothing a
 * sandboxed command did to the paths above or around (a directory swapped for a link, moved
 * away) can redirect a lookup. Descriptors are opened close-on-exec (libuv), so git and other
 * children never inherit them.
 */
export class DirHandle {
  private closed = false;

  private constructor(
    readonly fd: number,
    /** dev and ino of the directory, read from the open descriptor. */
    readonly stats: Stats,
  ) {}

  /** Opens a directory by path; the last component must not be a symlink (O_NOFOLLOW). */
  static open(path: string): DirHandle {
    const fd = openSync(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    try {
      return new DirHandle(fd, fstatSync(fd));
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** The path that reaches `name` in this directory through the descriptor. */
  at(name: string): string {
    if (this.closed) throw new Error('directory handle is closed');
    return `/proc/self/fd/${this.fd}/${checkName(name)}`;
  }

  /** The entry itself (a symlink is reported as one), or undefined when there is none. */
  lstat(name: string): Stats | undefined {
    return lstatSync(this.at(name), { throwIfNoEntry: false });
  }

  /**
   * A subdirectory, opened without following a link; it must be the entry `expected` described
   * (same dev/ino), so an entry swapped between the lstat and the open is refused.
   */
  openDir(name: string, expected?: Stats): DirHandle {
    const dir = DirHandle.open(this.at(name));
    if (expected && (dir.stats.ino !== expected.ino || dir.stats.dev !== expected.dev)) {
      dir.close();
      throw new Error(`${name} changed while it was opened`);
    }
    return dir;
  }

  /** Opens a file in this directory with O_NOFOLLOW added to `flags`. */
  openFile(name: string, flags: number, mode = 0o666): number {
    return openSync(this.at(name), flags | O_NOFOLLOW, mode);
  }

  mkdir(name: string): void {
    // mkdir never follows a final symlink: an existing link makes it fail with EEXIST.
    mkdirSync(this.at(name), { mode: 0o777 });
  }

  readlink(name: string): string {
    return readlinkSync(this.at(name));
  }

  entries(): Dirent[] {
    if (this.closed) throw new Error('directory handle is closed');
    return readdirSync(`/proc/self/fd/${this.fd}`, { withFileTypes: true });
  }

  /** Gives an entry (never a link's target) to a user. */
  lchown(name: string, uid: number, gid: number): void {
    lchownSync(this.at(name), uid, gid);
  }

  chownSelf(uid: number, gid: number): void {
    fchownSync(this.fd, uid, gid);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

/** What an entry is, in words, for error messages. */
export function kindOf(info: Stats): string {
  if (info.isFile()) return 'a file';
  if (info.isDirectory()) return 'a directory';
  if (info.isSymbolicLink()) return 'a symlink';
  if (info.isFIFO()) return 'a fifo';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  return 'a special file';
}
