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
 *   syncThenUnlink(fds, paths)  the same job, then, once every fsync
 *                   succeeded, 0 to 8 unlinks in the order given (each
 *                   after the one before; ENOENT counts as done, another
 *                   failure stops the chain, the rest get ECANCELED): a
 *                   queue step that must follow durable writes (qmail-send's
 *                   todo/N after info and local/remote) or a chain of
 *                   unlinks that free files and so wait for the device's
 *                   discard on a `discard` mount; resolves to
 *                   [fsync errors, unlink errors], null for success.
 */
import { fsync } from 'node:fs';
import { sys } from './native.ts';

/** Resolve once fd's data and metadata are on disk. */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise((res, rej) => fsync(fd, (e) => (e ? rej(e) : res())));
}

/** fsync each of fds (1 to 8) in one pool job; per fd null (on disk) or its Error. */
export function fsyncFds(fds: number[]): Promise<Errs> {
  return new Promise((res) => sys.syncUnlink(fds, [], (_e, errs) => res(errs)));
}

/** Per step: null (done) or its Error. */
export type Errs = Array<NodeJS.ErrnoException | null>;

/** fsync each of fds, then unlink each of paths in order, in one pool job (0 to 8 of each, not both none). */
export function syncThenUnlink(fds: number[], paths: string[]): Promise<[Errs, Errs]> {
  return new Promise((res) => sys.syncUnlink(fds, paths, (_e, errs) => res([errs.slice(0, fds.length), errs.slice(fds.length)])));
}
