import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * How SANDBOX=process separates a command from the runner:
 * - `root` (the runner is root): new mount, pid, network, ipc and uts namespaces, and the
 *   command as SANDBOX_UID/GID without groups, capabilities or new privileges;
 * - `user` (a non-root runner where unprivileged user namespaces work): the same namespaces in
 *   a user namespace; the command is the runner's own user (its files are the runner's), with
 *   no capabilities;
 * - `none`: a plain child process in its own process group (no isolation at all).
 */
export const ISOLATION_MODES = ['root', 'user', 'none'] as const;
export type IsolationMode = (typeof ISOLATION_MODES)[number];

/**
 * The namespace's first process (pid 1), run by `unshare` in the workspace, as root in the new
 * namespaces. It makes the host look as the Docker sandbox does, then runs the command:
 * - a private /tmp (also HOME), SANDBOX_TMP_MB large;
 * - WORK_DIR hidden under an empty tmpfs (mirrors, other jobs' worktrees, job records, slots),
 *   and the job's worktree (the current directory, held before the mounts) bound back at its own
 *   path; `--no-canonicalize` keeps mount(8) from turning "." into a path that now leads into the
 *   empty tmpfs;
 * - the Docker socket covered (a runner in the docker group keeps that group in a user namespace);
 * - no network (unshare --net: only a loopback that is down), its own /proc (the runner's
 *   processes, their environment and memory are not there).
 * SIGTERM (the timeout) goes to every process of the namespace; when the command exits, this
 * process exits with its status and the kernel kills whatever the command left behind, whatever
 * session or process group it moved to.
 */
export const NAMESPACE_INIT = [
  'set -e',
  'workdir="$1"; cmd="$2"; user="$3"; tmp_mb="$4"',
  'here="$(pwd)"',
  'mount -t tmpfs -o "mode=1777,size=${tmp_mb}m" agency-tmp /tmp',
  'if [ -n "$workdir" ] && [ -d "$workdir" ]; then mount -t tmpfs -o mode=0755,size=64k agency-hidden "$workdir"; fi',
  'for s in /run/docker.sock /var/run/docker.sock; do if [ -S "$s" ]; then mount --bind /dev/null "$s"; fi; done',
  'mkdir -p "$here"',
  'mount --no-canonicalize --bind . "$here"',
  'cd "$here"',
  'set +e',
  'if [ -n "$user" ]; then',
  '  setpriv --reuid="${user%:*}" --regid="${user#*:}" --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- /bin/sh -c "$cmd" &',
  'else',
  '  setpriv --inh-caps=-all --bounding-set=-all --no-new-privs -- /bin/sh -c "$cmd" &',
  'fi',
  'child=$!',
  "trap 'kill -TERM -1 2>/dev/null' TERM",
  'while :; do wait "$child"; status=$?; kill -0 "$child" 2>/dev/null || break; done',
  'exit "$status"',
].join('\n');

const NAMESPACES = ['--mount', '--pid', '--fork', '--kill-child', '--mount-proc', '--net', '--ipc', '--uts', '--propagation', 'private'];

export interface IsolatedCommand {
  file: string;
  args: string[];
}

/**
 * The program line for one command. `setpriv --pdeathsig` makes `unshare` die with the runner
 * (a crash included), and `--kill-child` takes the namespace with it.
 */
export function isolatedCommand(
  mode: Exclude<IsolationMode, 'none'>,
  options: { command: string; workDir?: string; user?: { uid: number; gid: number }; tmpMb: number },
): IsolatedCommand {
  const user = mode === 'root' && options.user ? `${options.user.uid}:${options.user.gid}` : '';
  return {
    file: 'setpriv',
    args: [
      '--pdeathsig',
      'SIGKILL',
      '--',
      'unshare',
      ...(mode === 'user' ? ['--user', '--map-root-user'] : []),
      ...NAMESPACES,
      '--',
      '/bin/sh',
      '-c',
      NAMESPACE_INIT,
      'agency-sandbox',
      options.workDir ?? '',
      options.command,
      user,
      String(options.tmpMb),
    ],
  };
}

/**
 * The isolation this host allows the runner, tried once with a real command: namespaces as root
 * for a root runner, in a user namespace for any other, else none (no unshare/setpriv, or namespaces refused, as a
 * container's seccomp profile often does). Returns the mode and, for `none`, why.
 */
export function probeIsolation(isRoot = process.getuid?.() === 0): { mode: IsolationMode; why?: string } {
  const dir = mkdtempSync(join(tmpdir(), 'agency-probe-'));
  try {
    const tried: string[] = [];
    // Never `user` for a root runner: its user namespace's root would be the host's root.
    for (const mode of isRoot ? (['root'] as const) : (['user'] as const)) {
      const { file, args } = isolatedCommand(mode, { command: 'echo agency-isolated', tmpMb: 1, ...(isRoot ? { user: { uid: 65534, gid: 65534 } } : {}) });
      const r = spawnSync(file, args, { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, encoding: 'utf8', timeout: 20_000 });
      if (r.status === 0 && r.stdout.trim() === 'agency-isolated') return { mode };
      tried.push(`${mode}: ${(r.error?.message ?? r.stderr).trim().split('\n').pop() || `exit ${r.status}`}`);
    }
    return { mode: 'none', why: tried.join('; ') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
