/**
 * tai64: TAI64 and TAI64N labels as daemontools 0.76 makes them (tai(3),
 * taia(3); ../shared/FORMATS.md section 1).
 *
 * A TAI64 label is 2^62 + 10 + Unix seconds (no leap-second table: daemontools
 * never adds leap seconds, so round trips with Unix time are exact). A TAI64N
 * label adds nanoseconds; daemontools reads the clock with gettimeofday and
 * uses 1000 * usec + 500, so every label it makes ends in ...500 ns.
 * Packed form: 8 bytes seconds + 4 bytes nanoseconds, big-endian (12 bytes).
 * External form: `@` + 24 lowercase hex digits.
 */
import { sys } from './native.ts';

/** 2^62 + 10: the TAI64 label of the Unix epoch. */
export const TAI_EPOCH = 0x400000000000000an;

export interface Tai64n {
  /** TAI64 label (seconds since 1970 + 2^62 + 10) */
  sec: bigint;
  /** nanoseconds, 0..999999999 */
  nano: number;
}

/** The current time as daemontools labels it (nano = 1000 * usec + 500). */
export function now(): Tai64n {
  const [s, us] = sys.timeofday();
  return { sec: TAI_EPOCH + BigInt(s), nano: us * 1000 + 500 };
}

/** Label for a Unix time in seconds (integer) and nanoseconds. */
export function fromUnix(unixSec: number, nano = 0): Tai64n {
  return { sec: TAI_EPOCH + BigInt(Math.floor(unixSec)), nano };
}

/** Unix seconds of a label (may be negative or huge for odd labels). */
export function toUnix(t: Tai64n): bigint {
  return t.sec - TAI_EPOCH;
}

/** Write the 12-byte packed label into buf at off. */
export function packInto(t: Tai64n, buf: Uint8Array, off = 0): void {
  const v = new DataView(buf.buffer, buf.byteOffset + off, 12);
  v.setBigUint64(0, BigInt.asUintN(64, t.sec));
  v.setUint32(8, t.nano);
}

/** The 12-byte packed label. */
export function pack(t: Tai64n): Buffer {
  const b = Buffer.alloc(12);
  packInto(t, b);
  return b;
}

/** Read a 12-byte packed label at off; throws RangeError if buf is short. */
export function unpack(buf: Uint8Array, off = 0): Tai64n {
  const v = new DataView(buf.buffer, buf.byteOffset + off, 12);
  return { sec: v.getBigUint64(0), nano: v.getUint32(8) };
}

/** `@` + 24 lowercase hex digits. */
export function format(t: Tai64n): string {
  return '@' + BigInt.asUintN(64, t.sec).toString(16).padStart(16, '0') + t.nano.toString(16).padStart(8, '0');
}

/**
 * Parse `@` + 24 hex digits (case-insensitive). Returns undefined for any
 * other text. (tai64nlocal's own, more lenient reading lives with it.)
 */
export function parse(label: string): Tai64n | undefined {
  if (!/^@[0-9a-fA-F]{24}$/.test(label)) return undefined;
  return { sec: BigInt('0x' + label.slice(1, 17)), nano: parseInt(label.slice(17), 16) };
}
