/**
 * fsyncfd: fsync(2) on a descriptor without blocking the event loop (it runs
 * in the libuv thread pool), for the queue and the mailbox writers, where
 * each message's durability costs one or two fsyncs (~0.4 ms on ext4) and a
 * server's other sessions should go on meanwhile. Rejects with the errno
 * `.code` (EIO, ENOSPC, EINVAL for /dev/null...).
 */
import { fsync } from 'node:fs';

/** Resolve once fd's data and metadata are on disk. */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise((res, rej) => fsync(fd, (e) => (e ? rej(e) : res())));
}
