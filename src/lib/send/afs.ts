/**
 * send/afs: the few file operations qmail-send's hot paths need, run in the
 * libuv pool as promises. On ext4 a create or unlink can wait milliseconds
 * for the journal while other processes' fsyncs commit; done synchronously
 * that would stall every delivery report and trigger pull behind it. Thin
 * wrappers over node:fs's callback API (cheaper than fs/promises' FileHandle).
 * Errors reject with the errno-carrying Error of node:fs.
 */
import { close, fstat, fsync, open, read, stat, unlink, write, type Stats } from 'node:fs';

type Cb<T> = (e: NodeJS.ErrnoException | null, v: T) => void;
const p = <T>(f: (cb: Cb<T>) => void): Promise<T> => new Promise((res, rej) => f((e, v) => (e ? rej(e) : res(v))));

/** open(2): flags and mode as numbers. */
export const openA = (path: string | Buffer, flags: number, mode = 0o644): Promise<number> => p<number>((cb) => open(path, flags, mode, cb));
/** close(2). */
export const closeA = (fd: number): Promise<void> => p<void>((cb) => close(fd, (e) => cb(e, undefined)));
/** fsync(2). */
export const fsyncA = (fd: number): Promise<void> => p<void>((cb) => fsync(fd, (e) => cb(e, undefined)));
/** unlink(2). */
export const unlinkA = (path: string): Promise<void> => p<void>((cb) => unlink(path, (e) => cb(e, undefined)));
/** stat(2). */
export const statA = (path: string): Promise<Stats> => p<Stats>((cb) => stat(path, cb));
/** fstat(2). */
export const fstatA = (fd: number): Promise<Stats> => p<Stats>((cb) => fstat(fd, cb));

/** Write all of buf at file offset pos (undefined: the current offset). */
export async function writeAllA(fd: number, buf: Buffer, pos?: number): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const n = await p<number>((cb) => write(fd, buf, off, buf.length - off, pos === undefined ? null : pos + off, (e, w) => cb(e, w)));
    if (n === 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
    off += n;
  }
}

/** One read(2) into buf from the current offset; resolves to the byte count. */
export const readA = (fd: number, buf: Buffer): Promise<number> => p<number>((cb) => read(fd, buf, 0, buf.length, null, (e, n) => cb(e, n)));

/** The whole file at path (open, fstat, read, close). */
export async function readFileA(path: string): Promise<Buffer> {
  const fd = await openA(path, 0);
  try {
    const size = (await fstatA(fd)).size;
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const b = Buffer.allocUnsafe(Math.max(size - total, 0) + 1024);
      const n = await p<number>((cb) => read(fd, b, 0, b.length, null, (e, r) => cb(e, r)));
      if (n === 0) break;
      chunks.push(b.subarray(0, n));
      total += n;
    }
    return Buffer.concat(chunks, total);
  } finally {
    await closeA(fd).catch(() => undefined);
  }
}

/** True / false for exists / ENOENT; other errors reject. */
export async function existsA(path: string): Promise<boolean> {
  try {
    await statA(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}
