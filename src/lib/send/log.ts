/**
 * send/log: qmail-send's log writer (qmail-log(5); qmail-send writes its log
 * to descriptor 0). Lines are collected during one event-loop turn and
 * written together right after it (process.nextTick), synchronously, so the
 * order is exact and a burst costs one write; a failing log descriptor is
 * ignored, as qmail's unchecked putflush.
 */
import { writeAll } from '../strerr.ts';

/** A buffered line writer on a file descriptor. */
export class SendLog {
  private buf: string[] = [];
  private scheduled = false;
  private readonly fd: number;

  constructor(fd: number) {
    this.fd = fd;
  }

  /** Queue one line (without `\n`), latin1. */
  line(s: string): void {
    this.buf.push(s + '\n');
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Write what is queued now. */
  flush(): void {
    this.scheduled = false;
    if (this.buf.length === 0) return;
    const b = Buffer.from(this.buf.join(''), 'latin1');
    this.buf = [];
    try {
      writeAll(this.fd, b);
    } catch {
      /* nowhere to complain */
    }
  }
}
