/**
 * child: external programs started without forking Node, and reaped.
 *
 *   startChild(path, argv, envp, fd) -> Promise<{ pid, exited }>
 *
 * The program is started by sys.spawn or sys.spawnAsync (src/native/sys.c: posix_spawn(3),
 * which glibc runs with CLONE_VM|CLONE_VFORK, so its cost does not grow
 * with the size of this process, where child_process.spawn forks the whole
 * Node process; it returns once the kernel has exec'd the program, about a
 * millisecond, so while other children run or start it runs on libuv's
 * threadpool and the event loop, e.g. tcpserver's accepting, goes on
 * meanwhile): argv[0] as given, envp (`NAME=value` strings) as its
 * whole environment, fd dup2'ed onto its fds 0 and 1 (-1: both inherited),
 * fd 2 inherited, every signal at its default action and an empty signal
 * mask (what the C tcpserver's child has after sig_uncatch/sig_unblock).
 * Rejects with the errno error (`.code` ENOENT, EACCES, ENOEXEC...) when
 * the program cannot be exec'd; a file without `#!` is not handed to /bin/sh
 * (ENOEXEC), as execve(2) in the originals' pathexec does not.
 *
 * `exited` resolves with the raw wait status (`tcpserver: end PID status
 * S`: exit code << 8, or the signal number, plus 128 for a core dump).
 * Reaping: on SIGCHLD (a Node signal listener) each of OUR pending pids is polled with
 * waitpid(pid, WNOHANG); never waitpid(-1), which would steal the children
 * of libuv (child_process) and of anyone else in the process. A pid someone
 * else reaped (ECHILD) resolves with status 0: its real status is lost.
 * Signal handles do not keep Node's event loop alive, so while children are
 * pending a timer does (as a ChildProcess handle would): a server whose
 * only work is waiting for a child stays up to see it end. A child that
 * ended before its pid reached this module (between the exec and the
 * threadpool's answer) is found by one waitpid right when it arrives.
 */
import { sys } from './native.ts';

/** A started program: its pid, and its raw wait status once it has ended. */
export interface Child {
  pid: number;
  exited: Promise<number>;
}

/** Our children not yet reaped: pid -> resolve(status). */
const pending = new Map<number, (status: number) => void>();
let listening = false;
/** Keeps the event loop alive while `pending` is not empty. */
let keepAlive: NodeJS.Timeout | undefined;

/** Reap every pending child that has ended (the SIGCHLD listener). */
function reap(): void {
  for (const [pid, done] of pending) {
    let status: number | undefined;
    try {
      status = sys.waitpid(pid);
    } catch {
      status = 0; // ECHILD: reaped by someone else
    }
    if (status === undefined) continue;
    pending.delete(pid);
    done(status);
  }
  if (pending.size === 0 && keepAlive !== undefined) {
    clearInterval(keepAlive);
    keepAlive = undefined;
  }
}

/** Spawns handed to the threadpool and not yet answered. */
let spawning = 0;

/** Register a started child; its `exited` settles when reap() finds it ended. */
function track(pid: number): Child {
  let done!: (status: number) => void;
  const exited = new Promise<number>((r) => (done = r));
  pending.set(pid, done);
  keepAlive ??= setInterval(() => undefined, 0x7fffffff);
  return { pid, exited };
}

/**
 * Start path (see the module comment): resolves once the program runs;
 * rejects with the spawn/exec error. The child's `exited` never rejects.
 * When no other child of ours is running or being started (one connection
 * at a time), the spawn is made right here (sys.spawn): the loop has nothing
 * else to do meanwhile and the threadpool's round trip is saved. Otherwise
 * it goes to the threadpool (sys.spawnAsync), so execs run in parallel while
 * the loop goes on.
 */
export function startChild(path: string, argv: string[], envp: string[], fd: number): Promise<Child> {
  if (!listening) {
    // before the first spawn, so no child can end unseen
    process.on('SIGCHLD', reap);
    listening = true;
  }
  if (spawning === 0 && pending.size === 0) {
    try {
      return Promise.resolve(track(sys.spawn(path, argv, envp, fd)));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  return new Promise((resolve, reject) => {
    // a spawn that cannot even be queued (no thread, no memory) throws: nothing then counts as spawning
    sys.spawnAsync(path, argv, envp, fd, (err, pid) => {
      spawning--;
      if (err || pid === undefined) {
        reject(err ?? new Error('spawn: no pid'));
        return;
      }
      resolve(track(pid));
      reap(); // it may have ended already, its SIGCHLD seen before it was pending
    });
    spawning++;
  });
}
