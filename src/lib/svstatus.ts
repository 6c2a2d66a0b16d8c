/**
 * svstatus: the 18-byte supervise/status file of daemontools 0.76
 * (../shared/FORMATS.md section 2, "supervise/status"), shared by supervise
 * (writer) and svstat (reader). Stable on-disk format, byte-compatible with
 * Debian's supervise and svstat:
 *
 *   0-7   TAI64 seconds of the last pid change, big-endian (2^62+10+unix)
 *   8-11  nanoseconds of that moment, big-endian (1000*usec+500)
 *   12-15 pid of ./run, little-endian, 0 = not running
 *   16    1 if paused (and running), else 0
 *   17    want: 'u', 'd', or 0 (after `svc -o`: no restart wanted)
 *
 * Pure functions; no I/O.
 */
import { packInto, unpack, type Tai64n } from './tai64.ts';

/** Length of the status file in bytes. */
export const STATUS_LEN = 18;

/** What the status file says. */
export interface SvStatus {
  /** TAI64N moment of the last pid change */
  when: Tai64n;
  /** pid of ./run, 0 when not running */
  pid: number;
  /** byte 16: paused flag */
  paused: boolean;
  /** byte 17: 'u', 'd' or '' (no restart wanted) */
  want: 'u' | 'd' | '';
}

/** The 18 bytes of a status. */
export function encode(s: SvStatus): Buffer {
  const b = Buffer.alloc(STATUS_LEN);
  packInto(s.when, b, 0);
  b.writeUInt32LE(s.pid >>> 0, 12);
  b[16] = s.paused ? 1 : 0;
  b[17] = s.want === '' ? 0 : s.want.charCodeAt(0);
  return b;
}

/**
 * Read a status file's bytes; undefined when shorter than 18 bytes (svstat's
 * "bad format"). Extra bytes are ignored. A byte 17 other than 'u'/'d' reads
 * as '' and byte 16 counts as paused when non-zero, as svstat reads them.
 */
export function decode(buf: Uint8Array): SvStatus | undefined {
  if (buf.length < STATUS_LEN) return undefined;
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const w = b[17];
  return {
    when: unpack(b, 0),
    pid: b.readUInt32LE(12),
    paused: b[16] !== 0,
    want: w === 0x75 ? 'u' : w === 0x64 ? 'd' : '',
  };
}
