/**
 * fsyncfd: fsync(2) without blocking the event loop, for the queue and the
 * mailbox writers, where each message's durability costs one or two fsyncs
 * (~0.3 ms on this project's VMs) and a server's other sessions should go
 * on meanwhile.
 *
 *   fsyncFd(fd)     one descriptor, in the libuv pool (node:fs's fsync);
 *                   rejects with the errno `.code` (EIO, ENOSPC, EINVAL for
 *                   /dev/null...)
 *   fsyncFds(fds)   1 to 8 descriptors in ONE pool job (the addon's syncUnlink,
 *                   src/native/sys.c): every file's data writeback started
 *                   first, then each fsync in turn; resolves to one entry
 *                   per fd, null or its Error (never rejects). Same wall
 *                   time as parallel fsyncs, but one thread wake-up each way
 *                   instead of one per file: a pool round trip costs about
 *                   26 us of CPU here, a context switch on a VM a good part
 *                   of that.
 *   fsyncGrouped(fd) one descriptor, grouped with the other fsyncs asked
 *                   for in the same event-loop turn (up to 8 descriptors
 *                   per pool job; requests for a descriptor already in the
 *                   group share its fsync): group commit for the queue's
 *                   and the mailbox writers' concurrent messages, and for
 *                   the queue's todo/ directory; resolves to null or the
 *                   Error
 *   fsyncDir(path)  fsync a directory (after a link into it, so that the
 *                   new name is on disk), through fsyncGrouped on one
 *                   descriptor per path shared by the requests in progress
 *                   (opened by the first, closed after the last): the links
 *                   of one event-loop turn into one directory cost one
 *                   fsync; resolves to null or the Error (EINVAL, a
 *                   filesystem with nothing to sync for a directory, counts
 *                   as done)
 *   syncThenUnlink(fds, paths)  the same job, then, once every fsync
 *                   succeeded, 0 to 8 unlinks in the order given (each
 *                   after the one before; ENOENT counts as done, another
 *                   failure stops the chain, the rest get ECANCELED): a
 *                   queue step that must follow durable writes (qmail-send's
 *                   todo/N after info and local/remote) or a chain of
 *                   unlinks that free files and so wait for the device's
 *                   discard on a `discard` mount; resolves to
 *                   [fsync errors, unlink errors], null for success.
 *   syncThenLink(fds, {from, to, dir, wait?, trigger?, unlink?})
 *                   one job: fsync fds, then link, pull the trigger,
 *                   fsync dir and unlink, each only if everything before
 *                   succeeded: a maildir delivery's last steps (tmp/NAME's
 *                   fsync, the link into new/, new/'s fsync, tmp/NAME's
 *                   unlink) when it is the only one in progress.
 *   fsyncSignal(fd) + syncThenLink(fds, {wait: fence, ...})
 *                   two jobs joined on the pool: the first fsyncs fd and
 *                   records the result in a fence; the second waits on its
 *                   worker for the fence after its own fsyncs:
 *                   qmail-queue's last step at concurrency 1 (intd/N's
 *                   fsync started early, mess/N's at the message's end,
 *                   then todo/N) with one trip through the event loop
 *                   instead of two.
 */
import { closeSync, constants, fsync, openSync } from 'node:fs';
import { sys, type Fence } from './native.ts';

/** Resolve once fd's data and metadata are on disk. */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise((res, rej) => fsync(fd, (e) => (e ? rej(e) : res())));
}

/** fsync each of fds (1 to 8) in one pool job; per fd null (on disk) or its Error. */
export function fsyncFds(fds: number[]): Promise<Errs> {
  return new Promise((res) => submit(fds, [], res));
}

/**
 * sys.syncUnlink; false when the job could not be queued (no thread, no
 * memory), which done() is told (at once) as every step failing with that error.
 */
function submit(fds: number[], paths: string[], done: (errs: Errs) => void, extra?: Parameters<typeof sys.syncUnlink>[3]): boolean {
  try {
    sys.syncUnlink(fds, paths, (_e, errs) => done(errs), extra);
    return true;
  } catch (e) {
    done(Array.from({ length: fds.length + (extra?.link ? 3 : 0) + paths.length }, () => e as NodeJS.ErrnoException));
    return false;
  }
}

/**
 * fsync fd in a job of its own that also records the result in a fence, for
 * a later syncThenLink() to wait for on the pool (no trip through the event
 * loop in between). `done` resolves to null or the fsync's Error; `fence`
 * is undefined when none could be made (the fsync still runs) or the job
 * could not be queued (then nothing may wait for it).
 */
export function fsyncSignal(fd: number): { fence: Fence | undefined; done: Promise<NodeJS.ErrnoException | null> } {
  let fence: Fence | undefined;
  try {
    fence = sys.fence();
  } catch {
    fence = undefined;
  }
  let queued = true;
  const done = new Promise<NodeJS.ErrnoException | null>((res) => {
    queued = submit([fd], [], (errs) => res(errs[0]), fence ? { signal: fence } : undefined);
  });
  // a job that was not queued never signals: nothing may wait for it
  return { fence: queued ? fence : undefined, done };
}

/** The link step of syncThenLink (see there). */
export interface LinkStep {
  /** a fence from fsyncSignal() whose fsync must have succeeded too */
  wait?: Fence;
  from: string;
  to: string;
  /** the directory of `to`, fsynced after the link */
  dir: string;
  /** a FIFO to pull (qmail's triggerpull: one byte, O_NONBLOCK, errors ignored) right after the link */
  trigger?: string;
  /** 0 to 8 paths to unlink, in order, once everything before succeeded (ENOENT counts as done) */
  unlink?: string[];
}

/**
 * One pool job: fsync each of fds, wait for `wait`'s fsync (fsyncSignal),
 * then, when all of them succeeded, link(from, to), pull the trigger FIFO
 * `trigger` when given (qmail's triggerpull, errors ignored), fsync
 * directory dir, and unlink the `unlink` paths: a step whose name must
 * follow durable writes and be durable itself (qmail-queue's todo/N, a
 * maildir's new/NAME). Resolves to the fds' errors and those of the
 * awaited fsync, the link, the directory's fsync and each unlink (null:
 * done; ECANCELED: not tried). Never rejects.
 */
export function syncThenLink(
  fds: number[],
  step: LinkStep,
): Promise<{ fsync: Errs; waited: NodeJS.ErrnoException | null; link: NodeJS.ErrnoException | null; dir: NodeJS.ErrnoException | null; unlink: Errs }> {
  const { wait, from, to, dir, trigger } = step;
  return new Promise((res) =>
    submit(
      fds,
      step.unlink ?? [],
      (errs) => {
        const n = fds.length;
        res({ fsync: errs.slice(0, n), waited: errs[n], link: errs[n + 1], dir: errs[n + 2], unlink: errs.slice(n + 3) });
      },
      { ...(wait ? { wait } : {}), link: trigger === undefined ? [from, to, dir] : [from, to, dir, trigger] },
    ),
  );
}

/**
 * fsync fd as part of a group: the fsyncs asked for during one event-loop
 * turn (up to 8 descriptors) go to the pool as one job (fsyncFds), started
 * after the turn's I/O callbacks (setImmediate): a group commit across a
 * server's concurrent sessions or deliveries, one thread wake-up each way
 * for the group. A descriptor asked for again before its group went out
 * (several sessions' links in todo/) shares that fsync, which starts after
 * every one of those requests. Resolves to null (on disk) or the fsync's
 * Error; never rejects.
 */
export function fsyncGrouped(fd: number): Promise<NodeJS.ErrnoException | null> {
  return new Promise((res) => {
    const same = group.find((x) => x.fd === fd);
    if (same) {
      same.res.push(res);
      return;
    }
    group.push({ fd, res: [res] });
    if (group.length === 1) setImmediate(flushGroup);
    else if (group.length === GROUP_MAX) flushGroup();
  });
}
const GROUP_MAX = 8;
let group: Array<{ fd: number; res: Array<(e: NodeJS.ErrnoException | null) => void> }> = [];
function flushGroup(): void {
  if (group.length === 0) return;
  const g = group;
  group = [];
  submit(
    g.map((x) => x.fd),
    [],
    (errs) => {
      for (let i = 0; i < g.length; i++) for (const r of g[i].res) r(errs[i]);
    },
  );
}

/** Per directory path, the descriptor the fsyncDir() calls in progress share. */
const dirs = new Map<string, { fd: number; users: number }>();

/**
 * fsync directory path (see the module comment); resolves to null once its
 * entries and inode are on disk, or the open's or fsync's Error.
 */
export async function fsyncDir(path: string): Promise<NodeJS.ErrnoException | null> {
  let d = dirs.get(path);
  if (!d) {
    try {
      d = { fd: openSync(path, constants.O_RDONLY | constants.O_DIRECTORY), users: 0 };
    } catch (e) {
      return e as NodeJS.ErrnoException;
    }
    dirs.set(path, d);
  }
  d.users++;
  const e = await fsyncGrouped(d.fd);
  if (--d.users === 0) {
    dirs.delete(path);
    try {
      closeSync(d.fd);
    } catch {
      /* nothing to do */
    }
  }
  return e === null || e.code === 'EINVAL' ? null : e;
}

/** Per step: null (done) or its Error. */
export type Errs = Array<NodeJS.ErrnoException | null>;

/** fsync each of fds, then unlink each of paths in order, in one pool job (0 to 8 of each, not both none). */
export function syncThenUnlink(fds: number[], paths: string[]): Promise<[Errs, Errs]> {
  return new Promise((res) => submit(fds, paths, (errs) => res([errs.slice(0, fds.length), errs.slice(fds.length)])));
}
