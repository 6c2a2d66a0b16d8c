/**
 * multilog/lines: turns stdin chunks into multilog's per-line actions
 * (multilog(8); FORMATS.md section 5), in bulk.
 *
 * The C program keeps the first 1000 bytes of a line (timestamp included)
 * in a line buffer; when the line ends, or the buffer fills, it runs the
 * script on that buffer (selection, `e`, `=`) and puts the buffer into each
 * selected directory, then puts every further byte of a long line one at a
 * time, the newline included. Its 1024-byte reads of stdin flush the
 * directory buffers. LineSplitter reproduces those put sizes and flush
 * points for each LogWriter (writer.ts) while scanning a whole chunk at once:
 * a chunk is treated as successive 1024-byte C reads (a regular file is read
 * in exactly those; for a pipe any split is one the C program could see).
 *
 * `e` lines are collected (first 200 bytes, `...` if longer) and `=` files
 * keep only the last selected line of the chunk (padded with newlines to
 * 1001 bytes): the caller writes them after each chunk.
 */
import { match } from './match.ts';
import type { Script } from './script.ts';
import type { LogWriter } from './writer.ts';

/** Bytes of a line the C program keeps (line buffer). */
export const LINEMAX = 1000;
/** C read size that sets the flush points (bytes). */
export const READSIZE = 1024;
/** `e` prints at most this many bytes of a line. */
export const ALERTMAX = 200;
/** `=file` size (bytes). */
export const STATUSSIZE = 1001;
/** `@` + 24 hex digits + space */
export const STAMPLEN = 26;

const NL = 10;
const DOTS = Buffer.from('...\n');

/** Line state carried across chunks (a line may span many reads) for one script and its writers. */
export class LineSplitter {
  private readonly sc: Script;
  private readonly writers: LogWriter[];
  /** 0: at a line start; 1: line buffer filling (lb holds lbLen bytes); 2: past 1000 bytes */
  private phase = 0;
  private readonly lb = Buffer.allocUnsafe(LINEMAX);
  private lbLen = 0;
  /** selection of the current line per directory (valid in phase 2) */
  private readonly sel: boolean[];
  /** `e` output collected for this chunk */
  alerts: Buffer[] = [];
  /** latest selected line per `=` file, padded to 1001 bytes (undefined: none this chunk) */
  status: (Buffer | undefined)[];
  /** script needs the line bytes (patterns, `e` or `=`) */
  private readonly needLine: boolean;
  private stamp: Uint8Array = Buffer.alloc(STAMPLEN);

  /** writers: one per script directory, in script order. */
  constructor(sc: Script, writers: LogWriter[]) {
    this.sc = sc;
    this.writers = writers;
    this.sel = writers.map(() => true);
    this.status = sc.files.map(() => undefined);
    this.needLine = sc.selects || sc.actions.some((a) => a.kind === 'alert' || a.kind === 'status');
  }

  /**
   * Process buf[0, n), read at the moment `stamp` (`@`+24 hex+space,
   * used only with `t`). Ends with the flush of the C program's next read.
   */
  chunk(buf: Uint8Array, n: number, stamp: Uint8Array): void {
    this.stamp = stamp;
    const ts = this.sc.timestamp;
    const writers = this.writers;
    const nw = writers.length;
    const sel = this.sel;
    let pos = 0;
    let nextB = READSIZE;
    while (pos < n) {
      if (this.phase === 2) {
        // rest of a long line: one-byte puts up to and including the newline
        const nl = buf.indexOf(NL, pos);
        const end = nl < 0 || nl >= n ? n : nl + 1;
        for (let d = 0; d < nw; d++) if (sel[d]) writers[d].append(buf, pos, end);
        let a = pos;
        while (a < end) {
          if (a >= nextB) {
            for (let d = 0; d < nw; d++) writers[d].flush();
            nextB = (Math.floor(a / READSIZE) + 1) * READSIZE;
          }
          const e = end < nextB ? end : nextB;
          for (let d = 0; d < nw; d++) if (sel[d]) writers[d].putBytes(e - a);
          a = e;
        }
        if (end > pos && buf[end - 1] === NL) this.phase = 0;
        pos = end;
        continue;
      }
      const fromLb = this.phase === 1;
      const have = fromLb ? this.lbLen : ts ? STAMPLEN : 0;
      const room = LINEMAX - have;
      let nl = buf.indexOf(NL, pos);
      if (nl >= n) nl = -1;
      if (nl >= 0 && nl - pos < room) {
        // the line ends within its buffer: event at the newline
        if (nl >= nextB) {
          for (let d = 0; d < nw; d++) writers[d].flush();
          nextB = (Math.floor(nl / READSIZE) + 1) * READSIZE;
        }
        const len = have + (nl - pos);
        if (!fromLb && !this.needLine) {
          // fast path: every directory selected, nothing else to do
          for (let d = 0; d < nw; d++) {
            const wr = writers[d];
            wr.reserve(len + 1);
            const o = wr.out;
            let at = wr.len;
            if (ts) {
              o.set(stamp, at);
              at += STAMPLEN;
            }
            o.set(buf.subarray(pos, nl + 1), at);
            wr.len = at + (nl + 1 - pos);
            wr.put(len);
            wr.put(1);
          }
        } else {
          this.lineOut(buf, pos, nl, fromLb, len, true);
        }
        this.phase = 0;
        this.lbLen = 0;
        pos = nl + 1;
        continue;
      }
      const fill = pos + room - 1; // position of the byte that fills the buffer
      if (fill < n) {
        if (fill >= nextB) {
          for (let d = 0; d < nw; d++) writers[d].flush();
          nextB = (Math.floor(fill / READSIZE) + 1) * READSIZE;
        }
        this.lineOut(buf, pos, fill + 1, fromLb, LINEMAX, false);
        this.phase = 2;
        this.lbLen = 0;
        pos = fill + 1;
        continue;
      }
      // the line continues in the next chunk
      if (!fromLb) {
        this.lbLen = 0;
        if (ts) {
          this.lb.set(stamp, 0);
          this.lbLen = STAMPLEN;
        }
        this.phase = 1;
      }
      this.lb.set(buf.subarray(pos, n), this.lbLen);
      this.lbLen += n - pos;
      pos = n;
    }
    for (let d = 0; d < nw; d++) writers[d].flush();
  }

  /** EOF: a partial last line gets its newline; then the final flush. */
  finish(): void {
    const nl = Buffer.from('\n');
    if (this.phase === 1) {
      this.lineOut(nl, 0, 0, true, this.lbLen, true);
    } else if (this.phase === 2) {
      for (let d = 0; d < this.writers.length; d++) {
        if (!this.sel[d]) continue;
        this.writers[d].append(nl, 0, 1);
        this.writers[d].putBytes(1);
      }
    }
    this.phase = 0;
    this.lbLen = 0;
    for (const w of this.writers) w.flush();
  }

  /**
   * A line's bytes buf[pos..end) are complete: run the script on them, then
   * write them (after the line buffer's bytes or the timestamp) to the
   * selected logs. With newline, the line of `len` (< 1000) bytes ended at
   * buf[end] (a newline, or the EOF stand-in) and a newline follows it; else
   * the line buffer filled at buf[end-1] and `len` is LINEMAX.
   */
  private lineOut(buf: Uint8Array, pos: number, end: number, fromLb: boolean, len: number, newline: boolean): void {
    const view = this.lineView(buf, pos, end, fromLb);
    this.runScript(view, 0, len);
    const ts = this.sc.timestamp;
    for (let d = 0; d < this.writers.length; d++) {
      if (!this.sel[d]) continue;
      const wr = this.writers[d];
      if (fromLb) wr.append(this.lb, 0, this.lbLen);
      else if (ts) wr.append(this.stamp, 0, STAMPLEN);
      wr.append(buf, pos, end);
      if (newline) {
        wr.append(NLBUF, 0, 1);
        wr.put(len);
        wr.put(1);
      } else wr.put(len);
    }
  }

  /** The line buffer's bytes (timestamp + first bytes) as one array, when the script needs them. */
  private lineView(buf: Uint8Array, pos: number, end: number, fromLb: boolean): Uint8Array {
    if (!this.needLine) return this.lb;
    if (!fromLb && !this.sc.timestamp) return buf.subarray(pos, end);
    const v = Buffer.allocUnsafe(LINEMAX);
    let at = 0;
    if (fromLb) {
      this.lb.copy(v, 0, 0, this.lbLen);
      at = this.lbLen;
    } else {
      v.set(this.stamp, 0);
      at = STAMPLEN;
    }
    v.set(buf.subarray(pos, end), at);
    return v.subarray(0, at + (end - pos));
  }

  /** Evaluate the script on line[start, end) (the line buffer); sets sel[], alerts, status. */
  private runScript(line: Uint8Array, start: number, end: number): void {
    if (!this.needLine) {
      this.sel.fill(true);
      return;
    }
    let on = true;
    for (const a of this.sc.actions) {
      switch (a.kind) {
        case 'select':
          if (!on && match(a.pattern, line, start, end)) on = true;
          break;
        case 'deselect':
          if (on && match(a.pattern, line, start, end)) on = false;
          break;
        case 'alert':
          if (on) {
            if (end - start > ALERTMAX) {
              this.alerts.push(Buffer.from(line.subarray(start, start + ALERTMAX)), DOTS);
            } else {
              this.alerts.push(Buffer.from(line.subarray(start, end)), NLBUF);
            }
          }
          break;
        case 'status':
          if (on) {
            const b = Buffer.alloc(STATUSSIZE, NL);
            b.set(line.subarray(start, end), 0);
            this.status[a.file] = b;
          }
          break;
        case 'dir':
          this.sel[a.dir] = on;
          break;
      }
    }
  }
}

const NLBUF = Buffer.from('\n');
