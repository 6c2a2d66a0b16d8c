/**
 * send/afs: the file operations of qmail-send's hot paths that can wait for
 * the disk, run in the libuv pool as promises: creating a file (inode
 * allocation; on ext4 a wait for the journal while other processes' fsyncs
 * commit), fsync, and an unlink that frees a file (on a `discard` mount the
 * freed blocks are discarded on the device). Done synchronously they would
 * stall every delivery report and trigger pull behind them. Everything else
 * qmail-send does to the queue (reading small files just written, stat, the
 * one-byte markdone write, unlinking names that normally do not exist) is a
 * page-cache or dentry operation done directly: a pool round trip, a
 * thread wake-up and an event-loop turn, costs more than any of those.
 * Thin wrappers over node:fs's callback API (cheaper than fs/promises'
 * FileHandle). Errors reject with the errno-carrying Error of node:fs.
 */
import { fsync, open, unlink } from 'node:fs';

type Cb<T> = (e: NodeJS.ErrnoException | null, v: T) => void;
const p = <T>(f: (cb: Cb<T>) => void): Promise<T> => new Promise((res, rej) => f((e, v) => (e ? rej(e) : res(v))));

/** open(2): flags and mode as numbers. */
export const openA = (path: string | Buffer, flags: number, mode = 0o644): Promise<number> => p<number>((cb) => open(path, flags, mode, cb));
/** fsync(2). */
export const fsyncA = (fd: number): Promise<void> => p<void>((cb) => fsync(fd, (e) => cb(e, undefined)));
/** unlink(2). */
export const unlinkA = (path: string): Promise<void> => p<void>((cb) => unlink(path, (e) => cb(e, undefined)));
