/**
 * fsyncfd: fsync(2) without blocking the event loop, for the queue and the
 * mailbox writers, where each message's durability costs one or two fsyncs
 * (~0.3 ms on this project's VMs) and a server's other sessions should go
 * on meanwhile.
 *
 *   fsyncFd(fd)     one descriptor, in the libuv pool (node:fs's fsync);
 *                   rejects with the errno `.code` (EIO, ENOSPC, EINVAL for
 *                   /dev/null...)
 *   fsyncFds(fds)   1 to 8 descriptors in ONE pool job (the addon's fsyncAll,
 *                   src/native/sys.c): every file's data writeback started
 *                   first, then each fsync in turn; resolves to one entry
 *                   per fd, null or its Error (never rejects). Same wall
 *                   time as parallel fsyncs, but one thread wake-up each way
 *                   instead of one per file: a pool round trip costs about
 *                   26 us of CPU here, a context switch on a VM a good part
 *                   of that.
 */
import { fsync } from 'node:fs';
import { sys } from './native.ts';

/** Resolve once fd's data and metadata are on disk. */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise((res, rej) => fsync(fd, (e) => (e ? rej(e) : res())));
}

/** fsync each of fds (1 to 8) in one pool job; per fd null (on disk) or its Error. */
export function fsyncFds(fds: number[]): Promise<Array<NodeJS.ErrnoException | null>> {
  return new Promise((res) => sys.fsyncAll(fds, (_e, errs) => res(errs)));
}
