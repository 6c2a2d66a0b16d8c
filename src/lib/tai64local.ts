/**
 * tai64local: the tai64nlocal filter (tai64nlocal(8); ../shared/FORMATS.md
 * section 1) as a restartable byte state machine over chunks.
 *
 * Public functions:
 *   class LocalFilter(zone)   .push(chunk) -> output so far (valid until the next push)
 *   labelText(digits, zone)   `YYYY-MM-DD HH:MM:SS.NNNNNNNNN` for lowercase hex digits
 *
 * Rules: only a line whose first byte is `@` is converted. Lowercase hex
 * digits are consumed up to the first other byte (uppercase stops the
 * label); the last 8 are nanoseconds, the ones before the TAI64 seconds
 * (modulo 2^64). Seconds - (2^62 + 10), as a signed 64-bit time_t, go through
 * the zone's localtime; year printed as an unsigned 64-bit number, the rest
 * zero-padded (nanoseconds to at least 9 digits). Then the byte that ended
 * the label and the rest of the line are copied. EOF inside a label prints
 * nothing more. Other lines are copied verbatim (NUL, CR included).
 */
import type { Zone } from './localtime.ts';

const MASK64 = (1n << 64n) - 1n;
const TAI_EPOCH = (1n << 62n) + 10n;

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** The local time text for a label's lowercase hex digits (without `@`). */
export function labelText(digits: string, zone: Zone): string {
  const nano = digits.length <= 8 ? parseInt(digits || '0', 16) : parseInt(digits.slice(-8), 16);
  const secHex = digits.length > 8 ? digits.slice(0, -8) : '0';
  return secondsText(secHex, zone) + pad(nano, 9);
}

let lastHex = '';
let lastZone: Zone | undefined;
let lastText = '';

/** `YYYY-MM-DD HH:MM:SS.` for the seconds hex digits (cached for the last value). */
function secondsText(secHex: string, zone: Zone): string {
  if (secHex === lastHex && zone === lastZone) return lastText;
  const secs = BigInt('0x' + secHex) & MASK64;
  const t = Number(BigInt.asIntN(64, secs - TAI_EPOCH));
  const tm = zone.localtime(t);
  const year = tm.year < 0 ? (BigInt(tm.year) & MASK64).toString() : String(tm.year);
  lastHex = secHex;
  lastZone = zone;
  lastText = `${year}-${pad(tm.mon, 2)}-${pad(tm.mday, 2)} ${pad(tm.hour, 2)}:${pad(tm.min, 2)}:${pad(tm.sec, 2)}.`;
  return lastText;
}

/** Filter states: at a line's first byte, inside a label, copying the rest of a line. */
const St = { LineStart: 0, Label: 1, Copy: 2 } as const;

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102);
}

function hexVal(c: number): number {
  return c <= 57 ? c - 48 : c - 87;
}

/** The filter's state across chunks. */
export class LocalFilter {
  private st: number = St.LineStart;
  private digits = '';
  private readonly zone: Zone;
  private out = Buffer.allocUnsafe(1 << 17);
  private o = 0;
  /** seconds digits (16 bytes) of the last fast-path label and their text */
  private lastSec = Buffer.alloc(16);
  private lastSecText = Buffer.alloc(0);

  constructor(zone: Zone) {
    this.zone = zone;
  }

  private room(n: number): void {
    if (this.o + n <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.o + n));
    this.out.copy(bigger, 0, 0, this.o);
    this.out = bigger;
  }

  private put(b: Uint8Array, from: number, to: number): void {
    this.room(to - from);
    this.out.set(b.subarray(from, to), this.o);
    this.o += to - from;
  }

  private putText(t: string): void {
    this.room(t.length);
    this.o += this.out.write(t, this.o, 'latin1');
  }

  /**
   * Fast path for the usual label: `@` + exactly 24 lowercase hex digits
   * followed by a non-digit, all inside chunk at i (the `@`). Writes the
   * time text and returns the index of the terminating byte, or -1.
   */
  private fast(chunk: Buffer, i: number): number {
    if (i + 25 >= chunk.length) return -1;
    for (let k = i + 1; k <= i + 24; k++) if (!isHex(chunk[k])) return -1;
    if (isHex(chunk[i + 25])) return -1;
    let same = this.lastSecText.length > 0;
    for (let k = 0; same && k < 16; k++) if (this.lastSec[k] !== chunk[i + 1 + k]) same = false;
    if (!same) {
      chunk.copy(this.lastSec, 0, i + 1, i + 17);
      this.lastSecText = Buffer.from(secondsText(chunk.toString('latin1', i + 1, i + 17), this.zone), 'latin1');
    }
    let nano = 0;
    for (let k = i + 17; k <= i + 24; k++) nano = nano * 16 + hexVal(chunk[k]);
    this.put(this.lastSecText, 0, this.lastSecText.length);
    this.room(10);
    const out = this.out;
    let o = this.o;
    if (nano >= 1e9) out[o++] = 48 + Math.floor(nano / 1e9);
    let r = nano % 1e9;
    for (let p = 1e8; p >= 1; p /= 10) {
      const d = Math.floor(r / p);
      out[o++] = 48 + d;
      r -= d * p;
    }
    this.o = o;
    return i + 25;
  }

  /** Feed a chunk; returns the output it completes (valid until the next push). */
  push(chunk: Buffer): Buffer {
    this.o = 0;
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.st === St.LineStart) {
        if (chunk[i] !== 64) {
          this.st = St.Copy;
          continue;
        }
        const j = this.fast(chunk, i);
        if (j >= 0) {
          this.st = St.Copy;
          i = j;
          continue;
        }
        this.st = St.Label;
        this.digits = '';
        i++;
      } else if (this.st === St.Label) {
        let j = i;
        while (j < n && isHex(chunk[j])) j++;
        this.digits += chunk.toString('latin1', i, j);
        if (j === n) break;
        this.putText(labelText(this.digits, this.zone));
        this.st = St.Copy;
        i = j;
      } else {
        const j = chunk.indexOf(10, i);
        if (j < 0) {
          this.put(chunk, i, n);
          break;
        }
        this.put(chunk, i, j + 1);
        this.st = St.LineStart;
        i = j + 1;
      }
    }
    return this.out.subarray(0, this.o);
  }
}
