/**
 * stamp: the tai64n filter's loop (tai64n(8); ../shared/FORMATS.md section
 * 1), on raw descriptors with blocking reads and writes.
 *
 * Public functions:
 *   stampChunk(chunk, label, atStart, out) -> [bytes written, atStart]
 *   stamper(inFd, outFd) -> exit status (0, or 111 on a read/write error)
 *
 * One label (`@` + 24 hex digits + space, 26 bytes) is taken per read, right
 * after the read returns; every line starting in that chunk gets it.
 */
import { readSync } from 'node:fs';
import { format, now } from './tai64.ts';
import { writeAll } from './strerr.ts';
import { errCode } from './errstr.ts';

/** Bytes per read. */
const CHUNK = 65536;
/** Length of `@` + 24 hex digits + space. */
const LABEL = 26;

/**
 * Copy chunk into out, inserting label before every line start. atStart
 * says whether chunk begins a line. out must hold chunk.length * 27 + 26.
 * Returns [bytes written, whether the next chunk begins a line].
 */
export function stampChunk(chunk: Buffer, label: Buffer, atStart: boolean, out: Buffer): [number, boolean] {
  const n = chunk.length;
  let o = 0;
  let i = 0;
  while (i < n) {
    if (atStart) {
      label.copy(out, o, 0, LABEL);
      o += LABEL;
    }
    const j = chunk.indexOf(10, i);
    if (j < 0) {
      o += chunk.copy(out, o, i, n);
      return [o, false];
    }
    o += chunk.copy(out, o, i, j + 1);
    i = j + 1;
    atStart = true;
  }
  return [o, atStart];
}

/** Run the filter from inFd to outFd until end of input. */
export function stamper(inFd: number, outFd: number): number {
  const inbuf = Buffer.allocUnsafe(CHUNK);
  const out = Buffer.allocUnsafe(CHUNK * (LABEL + 1) + LABEL);
  const label = Buffer.alloc(LABEL, ' ');
  let atStart = true;
  for (;;) {
    let n: number;
    try {
      n = readSync(inFd, inbuf, 0, CHUNK, null);
    } catch (e) {
      if (errCode(e) === 'EINTR') continue;
      return 111;
    }
    if (n === 0) return 0;
    label.write(format(now()), 0, 'latin1');
    const [len, next] = stampChunk(inbuf.subarray(0, n), label, atStart, out);
    atStart = next;
    try {
      writeAll(outFd, out.subarray(0, len));
    } catch {
      return 111;
    }
  }
}
