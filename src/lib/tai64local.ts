/**
 * tai64local: the tai64nlocal filter (tai64nlocal(8); ../shared/FORMATS.md
 * section 1) as a restartable byte state machine over chunks.
 *
 * Public functions:
 *   class LocalFilter(zone)   .push(chunk) -> Buffer of output; .end() -> Buffer
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

/** The filter's state across chunks. */
export class LocalFilter {
  private st: number = St.LineStart;
  private digits = '';
  private readonly zone: Zone;
  constructor(zone: Zone) {
    this.zone = zone;
  }

  /** Feed a chunk; returns the output it completes. */
  push(chunk: Buffer): Buffer {
    const parts: Buffer[] = [];
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.st === St.LineStart) {
        if (chunk[i] === 64) {
          this.st = St.Label;
          this.digits = '';
          i++;
        } else this.st = St.Copy;
      } else if (this.st === St.Label) {
        let j = i;
        while (j < n && isHex(chunk[j])) j++;
        this.digits += chunk.toString('latin1', i, j);
        if (j === n) break;
        parts.push(Buffer.from(labelText(this.digits, this.zone), 'latin1'));
        this.st = chunk[j] === 10 ? St.LineStart : St.Copy;
        parts.push(chunk.subarray(j, j + 1));
        i = j + 1;
      } else {
        const j = chunk.indexOf(10, i);
        if (j < 0) {
          parts.push(chunk.subarray(i));
          break;
        }
        parts.push(chunk.subarray(i, j + 1));
        this.st = St.LineStart;
        i = j + 1;
      }
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }
}
