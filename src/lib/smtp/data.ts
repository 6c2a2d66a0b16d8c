/**
 * smtp/data: the DATA phase as a byte state machine (qmail-smtpd.c's blast();
 * qmail-smtpd(8) "TRANSPARENCY"; RFC 5321 4.5.2). Input: the bytes the
 * client sends after `354`. Output: the message as stored, CRLF turned into
 * LF, a leading `.` of a line removed, ending at CRLF.CRLF.
 *
 * States (the original's numbers) and the table TABLE[state][class], byte
 * classes LF, CR, DOT, OTHER:
 *
 *   0 IN_LINE      LF: stray   CR: ->4           . / x: put x, ->0
 *   1 LINE_START   LF: stray   CR: ->4  .: ->2   x: put x, ->0
 *   2 DOT          LF: stray   CR: ->3           . / x: put x, ->0 (unstuffed)
 *   3 DOT_CR       LF: END     CR: put ".\r", ->4   . / x: put ".\r" x, ->0
 *   4 CR           LF: put LF, ->1   CR: put CR, ->4   . / x: put CR x, ->0
 *
 * "stray" is a bare LF: qmail answers `451 See https://cr.yp.to/docs/smtplf.html.`
 * and drops the connection. The machine starts in LINE_START, so a message
 * that is just `.` CRLF is empty.
 *
 * Alongside, in the header (until the first empty line, seen on the raw
 * bytes), lines starting with `Received` or `Delivered` (each letter in
 * either case, no colon needed) count as hops; the caller refuses 100 or more
 * with 554.
 *
 * Speed: in IN_LINE after the header, the bytes up to the next CR or LF
 * are copied in one piece (what the table would do byte by byte; the tests
 * check the two against a per-byte model).
 *
 * databytes: with a limit N > 0 the N+1st output byte marks the message as
 * too big; from then on output is dropped (nothing more is kept in memory)
 * while the machine still runs to the final dot, as the original keeps
 * reading.
 */

const LF = 0;
const CR = 1;
const DOT = 2;
const OTHER = 3;

/** What a transition does: bytes to put before the input byte, whether the input byte is put, the next state. */
interface Step {
  pre: number[];
  put: boolean;
  next: number;
}

/** next = -1: end of message; -2: stray LF. */
const END = -1;
const STRAY = -2;

const s = (pre: number[], put: boolean, next: number): Step => ({ pre, put, next });

/** TABLE[state][class] (see the module comment). */
const TABLE: Step[][] = [
  /* 0 */ [s([], false, STRAY), s([], false, 4), s([], true, 0), s([], true, 0)],
  /* 1 */ [s([], false, STRAY), s([], false, 4), s([], false, 2), s([], true, 0)],
  /* 2 */ [s([], false, STRAY), s([], false, 3), s([], true, 0), s([], true, 0)],
  /* 3 */ [s([], false, END), s([0x2e, 0x0d], false, 4), s([0x2e, 0x0d], true, 0), s([0x2e, 0x0d], true, 0)],
  /* 4 */ [s([], true, 1), s([], true, 4), s([0x0d], true, 0), s([0x0d], true, 0)],
];

const classOf = (b: number): number => (b === 0x0a ? LF : b === 0x0d ? CR : b === 0x2e ? DOT : OTHER);

const RECEIVED = [Buffer.from('received'), Buffer.from('RECEIVED')];
const DELIVERED = [Buffer.from('delivered'), Buffer.from('DELIVERED')];

/** Outcome of one feed(). */
export interface FeedResult {
  /** input bytes consumed (all of the chunk unless the message ended inside it) */
  used: number;
  /** 'more': wants more input; 'end': CRLF.CRLF seen; 'stray': bare LF */
  status: 'more' | 'end' | 'stray';
}

/** One message's DATA phase (see the module comment). */
export class DataMachine {
  private state = 1;
  private inHeader = true;
  private pos = 0;
  private maybeX = true;
  private maybeY = true;
  private maybeZ = true;
  /** Received/Delivered-To lines in the header */
  hops = 0;
  /** bytes still allowed before overflow + 1 (0: no limit); bytestooverflow */
  private toOverflow: number;
  /** true once the output exceeded databytes */
  tooBig = false;
  /** bytes of the message as stored (while not too big), when no sink takes them */
  private readonly parts: Buffer[] = [];
  /** stored size in bytes */
  size = 0;
  private readonly sink: ((b: Buffer) => void) | undefined;

  /**
   * @param databytes the limit in stored bytes, 0 for none
   * @param sink takes the output as it is made (else message() gives it at the end)
   */
  constructor(databytes: number, sink?: (b: Buffer) => void) {
    this.toOverflow = databytes > 0 ? databytes + 1 : 0;
    this.sink = sink;
  }

  /** Run the machine over chunk; output goes to the sink or is kept (see message()). */
  feed(chunk: Uint8Array): FeedResult {
    // at most 2 bytes held from the previous chunk (".\r" or "\r") come out with this one
    const out = Buffer.allocUnsafe(chunk.length + 2);
    let o = 0;
    let status: FeedResult['status'] = 'more';
    let i = 0;
    const put = (b: number): void => {
      if (this.toOverflow > 0 && --this.toOverflow === 0) this.tooBig = true;
      if (!this.tooBig) out[o++] = b;
    };
    for (; i < chunk.length; i++) {
      if (this.state === 0 && !this.inHeader) {
        // fast path: the rest of a body line up to its CR or LF is stored as is
        const cr = chunk.indexOf(0x0d, i);
        const lf = chunk.indexOf(0x0a, i);
        const j = cr < 0 ? (lf < 0 ? chunk.length : lf) : lf < 0 ? cr : Math.min(cr, lf);
        const run = j - i;
        if (run > 0 && (this.toOverflow === 0 || this.toOverflow > run + 1)) {
          if (this.toOverflow > 0) this.toOverflow -= run;
          if (!this.tooBig) {
            out.set(chunk.subarray(i, j), o);
            o += run;
          }
          i = j;
          if (i === chunk.length) break;
        }
      }
      const ch = chunk[i];
      if (this.inHeader) this.header(ch);
      const step = TABLE[this.state][classOf(ch)];
      if (step.next === END) {
        status = 'end';
        i++;
        break;
      }
      if (step.next === STRAY) {
        status = 'stray';
        i++;
        break;
      }
      for (const p of step.pre) put(p);
      if (step.put) put(ch);
      this.state = step.next;
    }
    if (o > 0) {
      if (this.sink) this.sink(out.subarray(0, o));
      else this.parts.push(out.subarray(0, o));
      this.size += o;
    }
    return { used: i, status };
  }

  /** Hop counting on the raw header bytes (blast()'s flaginheader part). */
  private header(ch: number): void {
    const pos = this.pos;
    if (pos < 9) {
      if (ch !== DELIVERED[0][pos] && ch !== DELIVERED[1][pos]) this.maybeZ = false;
      if (this.maybeZ && pos === 8) this.hops++;
      if (pos < 8 && ch !== RECEIVED[0][pos] && ch !== RECEIVED[1][pos]) this.maybeX = false;
      if (this.maybeX && pos === 7) this.hops++;
      if (pos < 2 && ch !== (pos === 0 ? 0x0d : 0x0a)) this.maybeY = false;
      if (this.maybeY && pos === 1) this.inHeader = false;
      this.pos++;
    }
    if (ch === 0x0a) {
      this.pos = 0;
      this.maybeX = this.maybeY = this.maybeZ = true;
    }
  }

  /** The stored message bytes so far (after the end: the whole message); empty with a sink. */
  message(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
}
