/**
 * fdio: blocking reads from a file descriptor for filter programs that run as
 * real processes (tcprules, addcr, delcr, fixcrio, recordio) and must not
 * touch process.stdin (which would put a pipe on fd 0 into O_NONBLOCK and
 * hide read errors such as EISDIR). Writes use strerr.writeAll.
 *
 *   readFd(fd, size?)   one read: up to size bytes (default 8192); an empty
 *                       Buffer at end of file; EAGAIN (a descriptor someone
 *                       else made non-blocking) waits 10 ms and retries,
 *                       EINTR retries; other errors are thrown with .code.
 *   fdChunks(fd, size?) the reads of fd until end of file, as an iterable.
 */
import { readSync } from 'node:fs';

const nap = new Int32Array(new SharedArrayBuffer(4));

/** One read(2) of up to size bytes from fd; empty at EOF (see module comment). */
export function readFd(fd: number, size = 8192): Buffer {
  const buf = Buffer.allocUnsafe(size);
  for (;;) {
    try {
      const n = readSync(fd, buf, 0, size, null);
      return buf.subarray(0, n);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') Atomics.wait(nap, 0, 0, 10);
      else if (code !== 'EINTR') throw e;
    }
  }
}

/** Every read of fd until end of file. */
export function* fdChunks(fd: number, size = 65536): Generator<Buffer> {
  for (;;) {
    const b = readFd(fd, size);
    if (b.length === 0) return;
    yield b;
  }
}
