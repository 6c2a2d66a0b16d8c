/**
 * pop3/blast: a stored message (LF line ends) as a POP3 multi-line response
 * body (RFC 1939 section 3; qmail-pop3d's blast()).
 *
 * Each line (bytes up to LF, LF excluded) is sent followed by CRLF; a line
 * starting with `.` gets one more `.` in front (byte-stuffing). A final line
 * without LF is sent the same way. Bytes are never otherwise changed: a
 * stored CR before LF stays (and is followed by CRLF), NUL bytes pass.
 * After the message comes an extra empty line and the terminator:
 * `\r\n.\r\n` (qmail-pop3d(8): "appends an extra blank line to every message
 * to work around serious bugs in certain clients").
 *
 * TOP: `limit` = body lines + 1, or 0 for the whole message. The header
 * lines and the empty line that ends them are always sent; after it, body
 * lines are sent until `limit - 1` of them have been (qmail-pop3d's count).
 *
 * Public: class Blaster(limit)
 *   push(chunk) -> Buffer    the POP3 bytes for this chunk of the file
 *   done                     true once the limit was reached (stop reading)
 *   end() -> Buffer          the bytes that close the response
 */

const CRLF = Buffer.from('\r\n');
const DOT = Buffer.from('.');
const TRAILER = Buffer.from('\r\n.\r\n');

/** Stateful LF -> CRLF, dot-stuffing, TOP-limiting converter (see module comment). */
export class Blaster {
  private limit: number;
  private inHeaders = true;
  private atLineStart = true;
  /** true once the TOP limit was reached: no more input is wanted */
  done = false;

  /** limit: body lines + 1 (TOP n -> n + 1), or 0 for no limit. */
  constructor(limit: number) {
    this.limit = limit;
  }

  /** Decide what a line starting with byte b does; false = stop here. */
  private lineStart(b: number): boolean {
    if (this.limit && !this.inHeaders && !--this.limit) {
      this.done = true;
      return false;
    }
    if (b === 10) this.inHeaders = false;
    return true;
  }

  /** Convert one chunk of the stored message. */
  push(chunk: Buffer): Buffer {
    if (this.done) return Buffer.alloc(0);
    const out: Buffer[] = [];
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.atLineStart) {
        if (!this.lineStart(chunk[i])) break;
        if (chunk[i] === 46) out.push(DOT);
        this.atLineStart = false;
      }
      const nl = chunk.indexOf(10, i);
      if (nl < 0) {
        out.push(chunk.subarray(i));
        break;
      }
      if (nl > i) out.push(chunk.subarray(i, nl));
      out.push(CRLF);
      this.atLineStart = true;
      i = nl + 1;
    }
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }

  /** The bytes that end the response (a CRLF for an unterminated last line, then `\r\n.\r\n`). */
  end(): Buffer {
    return !this.atLineStart && !this.done ? Buffer.concat([CRLF, TRAILER]) : TRAILER;
  }
}
