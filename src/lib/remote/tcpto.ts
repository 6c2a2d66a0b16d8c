/**
 * remote/tcpto: qmail's record of remote hosts that recently timed out,
 * QMAILHOME/queue/lock/tcpto (tcpto.c, tcpto_clean.c; qmail-tcpto(8),
 * qmail-tcpok(8)). Byte-compatible with the original's file.
 *
 * Format: a 1024-byte file (qmail-send's spawner zeroes it at start, as
 * qmail-tcpok does) of 64 records of 16 bytes:
 *
 *   bytes 0-3   IPv4 address, network order
 *   byte  4     recent timeouts, 0..10 (0 = free slot)
 *   bytes 8-11  time of the last counted timeout, seconds, little-endian
 *   other bytes unused (written back as read)
 *
 * Only the records wholly read count (length >> 4). The reader takes an
 * exclusive flock on a write descriptor while reading; a writer keeps it
 * until its one 16-byte pwrite is done. A missing or unwritable file turns
 * the whole mechanism off (no error), as in qmail.
 *
 * Policy (tcpto.c):
 * - isDown(ip): skip the address when its record counts >= 2 timeouts and
 *   the last was less than (60 + (pid & 31)) * 64 seconds ago (64-96 min).
 * - recordResult(ip, timedOut): a connection made (or refused: anything but
 *   a timeout) clears the count of an address isDown() saw in the file; a
 *   timeout increments it (max 10) and restamps it, unless the previous
 *   counted timeout is under 120 s old; an address not in the file gets a
 *   free slot, or else the slot whose time + count * 1024 is the oldest.
 *
 * Every call is synchronous, so two deliveries running in one process never
 * interleave between lock and write.
 */
import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import { sys, LOCK_EX } from '../native.ts';

/** Size of the file qmail-tcpok writes, and the most tcpto.c reads. */
export const TCPTO_SIZE = 1024;

/** Path of the tcpto file of a qmail home. */
export function tcptoPath(home: string): string {
  return `${home}/queue/lock/tcpto`;
}

function ipBytes(ip: string): number[] {
  return ip.split('.').map((x) => Number(x) & 255);
}

function sameIp(rec: Buffer, off: number, ip: number[]): boolean {
  return rec[off] === ip[0] && rec[off + 1] === ip[1] && rec[off + 2] === ip[2] && rec[off + 3] === ip[3];
}

/** One record as qmail-tcpto shows it. */
export interface TcptoRecord {
  ip: string;
  count: number;
  /** seconds since the epoch of the last counted timeout */
  when: number;
}

/** Decode the records of a tcpto buffer (whole 16-byte records only), free slots included. */
export function decodeRecords(buf: Buffer): TcptoRecord[] {
  const out: TcptoRecord[] = [];
  for (let off = 0; off + 16 <= buf.length; off += 16) {
    out.push({ ip: `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`, count: buf[off + 4], when: buf.readUInt32LE(off + 8) });
  }
  return out;
}

/** The file's open lock descriptor and contents (getbuf), or undefined when off. */
function getbuf(path: string): { fd: number; buf: Buffer; n: number } | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  let buf: Buffer;
  try {
    sys.flock(fd, LOCK_EX);
    const rfd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      buf = Buffer.alloc(TCPTO_SIZE);
      buf = buf.subarray(0, readSync(rfd, buf, 0, TCPTO_SIZE, 0));
    } finally {
      closeSync(rfd);
    }
  } catch {
    closeSync(fd);
    return undefined;
  }
  const n = buf.length >> 4;
  if (n === 0) {
    closeSync(fd);
    return undefined;
  }
  return { fd, buf, n };
}

const now = (): number => Math.floor(Date.now() / 1000);

/**
 * The tcpto state of one qmail-remote run: isDown() remembers whether the
 * address was in the file, which recordResult() needs (tcpto.c's
 * flagwasthere). `pid` picks the per-process hold-off (qmail-remote's pid).
 */
export class Tcpto {
  private wasThere = false;

  private readonly path: string;
  private readonly pid: number;

  constructor(path: string, pid: number) {
    this.path = path;
    this.pid = pid;
  }

  /** True when ip (dotted quad) should be skipped now (see module comment). */
  isDown(ip: string): boolean {
    this.wasThere = false;
    const g = getbuf(this.path);
    if (!g) return false;
    closeSync(g.fd);
    const a = ipBytes(ip);
    for (let i = 0; i < g.n; i++) {
      const off = i << 4;
      if (!sameIp(g.buf, off, a)) continue;
      this.wasThere = true;
      if (g.buf[off + 4] >= 2) {
        const when = g.buf.readUInt32LE(off + 8);
        if (now() - when < (60 + (this.pid & 31)) << 6) return true;
      }
      return false;
    }
    return false;
  }

  /** Record the outcome of a connection attempt to ip (see module comment). */
  recordResult(ip: string, timedOut: boolean): void {
    if (!timedOut && !this.wasThere) return;
    const g = getbuf(this.path);
    if (!g) return;
    const { fd, buf, n } = g;
    try {
      const a = ipBytes(ip);
      const put = (i: number): void => {
        try {
          writeSync(fd, buf, i << 4, 16, i << 4);
        } catch {
          /* as tcpto.c: a failed write is ignored */
        }
      };
      for (let i = 0; i < n; i++) {
        const off = i << 4;
        if (!sameIp(buf, off, a)) continue;
        if (!timedOut) buf[off + 4] = 0;
        else {
          const last = buf.readUInt32LE(off + 8);
          const t = now();
          if (buf[off + 4] && t < 120 + last) return;
          buf[off + 4] = Math.min(buf[off + 4] + 1, 10);
          buf.writeUInt32LE(t >>> 0, off + 8);
        }
        put(i);
        return;
      }
      if (!timedOut) return;
      let slot = -1;
      for (let i = 0; i < n; i++) {
        if (!buf[(i << 4) + 4]) {
          slot = i;
          break;
        }
      }
      if (slot < 0) {
        let firstWhen = 0;
        for (let i = 0; i < n; i++) {
          const off = i << 4;
          const when = buf.readUInt32LE(off + 8) + (buf[off + 4] << 10);
          if (slot < 0 || when < firstWhen) {
            slot = i;
            firstWhen = when;
          }
        }
      }
      const off = slot << 4;
      buf[off] = a[0];
      buf[off + 1] = a[1];
      buf[off + 2] = a[2];
      buf[off + 3] = a[3];
      buf.writeUInt32LE(now() >>> 0, off + 8);
      buf[off + 4] = 1;
      put(slot);
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * Zero the file: TCPTO_SIZE NUL bytes from offset 0, under an exclusive
 * lock (qmail-tcpok; tcpto_clean does the same without the lock). Throws
 * with `.stage` 'open' | 'lock' | 'write' and the errno `.code`.
 */
export function tcptoClear(path: string): void {
  const stage = (s: string, e: unknown): never => {
    throw Object.assign(e as object, { stage: s });
  };
  let fd = -1;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (e) {
    stage('open', e);
  }
  try {
    try {
      sys.flock(fd, LOCK_EX);
    } catch (e) {
      stage('lock', e);
    }
    try {
      writeSync(fd, Buffer.alloc(TCPTO_SIZE), 0, TCPTO_SIZE, 0);
    } catch (e) {
      stage('write', e);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Read the file for qmail-tcpto: exclusive lock on a write descriptor, one
 * read of up to TCPTO_SIZE bytes. Throws with `.stage` 'open' | 'lock' |
 * 'read' and the errno `.code`.
 */
export function tcptoRead(path: string): Buffer {
  const stage = (s: string, e: unknown): never => {
    throw Object.assign(e as object, { stage: s });
  };
  let lfd = -1;
  let rfd = -1;
  try {
    try {
      lfd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
      rfd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (e) {
      stage('open', e);
    }
    try {
      sys.flock(lfd, LOCK_EX);
    } catch (e) {
      stage('lock', e);
    }
    const buf = Buffer.alloc(TCPTO_SIZE);
    try {
      return buf.subarray(0, readSync(rfd, buf, 0, TCPTO_SIZE, 0));
    } catch (e) {
      return stage('read', e);
    }
  } finally {
    if (rfd >= 0) closeSync(rfd);
    if (lfd >= 0) closeSync(lfd);
  }
}
