/**
 * native: the POSIX calls Node does not expose (flock, pipe, mkfifo, setsid,
 * rlimits, fd flags, dup2, posix_spawn/waitpid, crypt(3), SO_PEERCRED, and
 * fsyncs and unlinks as one job on the addon's own thread pool), from the
 * small addon in src/native/sys.c and pool.c, built by `npm run build`
 * against the pinned runtime's headers. Errors thrown carry `.code` (errno
 * name) and `.errno`, so errstr() prints DJB's phrase.
 */
import { createRequire } from 'node:module';
import { ROOT } from './root.ts';

/** An opaque fence of the addon (Sys.fence()). */
export type Fence = { readonly __fence: unique symbol };

export interface Sys {
  flock(fd: number, op: number): void;
  pipe(): [number, number];
  mkfifo(path: string, mode: number): void;
  setsid(): number;
  /** [soft, hard]; -1 = RLIM_INFINITY */
  getrlimit(resource: number): [number, number];
  setrlimit(resource: number, soft: number, hard: number): void;
  cloexec(fd: number, on: boolean): void;
  nonblock(fd: number, on: boolean): void;
  dup2(from: number, to: number): void;
  close(fd: number): void;
  /** gettimeofday(2): [seconds, microseconds] since the Unix epoch */
  timeofday(): [number, number];
  /**
   * execve(2): replace the process image (same pid). SIGPIPE and SIGXFSZ,
   * which Node ignores, are reset to default for the new program. Returns
   * only by throwing (`.code` = errno name) when the exec fails.
   */
  execve(path: string, argv: string[], envp: string[]): never;
  /**
   * posix_spawn(3) of path with argv (argv[0] as given) and envp
   * (`NAME=value` strings): fd (a socket) dup2'ed onto fds 0 and 1 (-1:
   * both inherited), fd 2 inherited, other descriptors closed if
   * FD_CLOEXEC (Node's are); all signals default, empty mask in the child.
   * No fork of the Node process (glibc uses CLONE_VM|CLONE_VFORK). Returns
   * the pid; throws (`.code` = errno name: ENOENT, EACCES, ENOEXEC...) when
   * the child cannot exec, which glibc reports to the parent. The caller
   * must reap the child (waitpid).
   */
  spawn(path: string, argv: string[], envp: string[], fd: number): number;
  /**
   * spawn() on the addon's thread pool (src/native/pool.c): posix_spawn
   * returns only once the kernel has exec'd the program (about a
   * millisecond), so the event loop goes on meanwhile and several spawns
   * run in parallel. cb(err, pid) is called on
   * the loop; fd must stay open until then.
   */
  spawnAsync(path: string, argv: string[], envp: string[], fd: number, cb: (err: NodeJS.ErrnoException | null, pid?: number) => void): void;
  /**
   * waitpid(pid, WNOHANG): the raw wait status (as in `tcpserver: end PID
   * status S`) once the child has ended and is reaped, undefined while it
   * runs. Throws (ECHILD) for a pid that is not an unreaped child.
   */
  waitpid(pid: number): number | undefined;
  /**
   * One job on the addon's thread pool (src/native/pool.c): fsync(2) of 0 to 8 descriptors (every file's
   * data writeback started first with sync_file_range, then each fsynced in
   * turn), then, only if every fsync succeeded, unlink(2) of 0 to 8 paths
   * in the order given, each after the one before it; ENOENT counts as
   * done, another failure stops the chain. cb(null, errs) on the loop:
   * errs has one entry per fd, then one per path: null or the Error
   * (`.code`, `.errno`; ECANCELED for an unlink not tried). Throws a
   * TypeError for other arguments (both lists empty among them).
   */
  syncUnlink(
    fds: number[],
    paths: string[],
    cb: (err: null, errs: Array<NodeJS.ErrnoException | null>) => void,
    extra?: { signal?: Fence; wait?: Fence; link?: [from: string, to: string, dir: string] | [from: string, to: string, dir: string, trigger: string] },
  ): void;
  /**
   * A fence for syncUnlink's 4th argument: a job given `{ signal: f }`
   * records its first fsync's result in f once its fsyncs are done; a later
   * job given `{ wait: f, link: [from, to, dir] }` runs its own fsyncs,
   * then waits there on its worker thread for f, and only when all of them
   * succeeded does link(from, to), one byte into FIFO trigger when given
   * (opened O_WRONLY|O_NONBLOCK, every error ignored, as qmail's
   * triggerpull), and fsync(2) of directory dir (EINVAL counting as done),
   * before its unlinks. Its errs then hold, after the
   * fds' entries, the awaited fsync's, the link's and the directory
   * fsync's (ECANCELED: not tried), then the paths'. The signalling job
   * must be queued first (jobs start in FIFO order and a signalling job
   * never waits, so a waiting one cannot block it).
   */
  fence(): Fence;
  /**
   * crypt(3) (libxcrypt's crypt_rn) of key with setting (a salt or a whole
   * stored hash such as `$y$j9T$...`): the hash, or null when the setting is
   * invalid or its scheme unsupported. The C work area is zeroed afterwards.
   */
  crypt(key: Buffer, setting: string): string | null;
  /**
   * getsockopt(fd, SOL_SOCKET, SO_PEERCRED) on a connected Unix-domain
   * socket: the peer process's pid, uid and gid as the kernel recorded them
   * when it connected (not something the peer can claim). Throws (`.code`:
   * ENOTSOCK, EBADF, ...) for anything else.
   */
  peercred(fd: number): { pid: number; uid: number; gid: number };
  rlimitNames: Record<'AS' | 'CORE' | 'DATA' | 'FSIZE' | 'MEMLOCK' | 'NOFILE' | 'NPROC' | 'RSS' | 'STACK' | 'CPU', number>;
}

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

const require = createRequire(import.meta.url);
/** The addon, built into src/native/build by `npm run build:native`. */
export const sys: Sys = require(`${ROOT}/src/native/build/Release/sys.node`) as Sys;
