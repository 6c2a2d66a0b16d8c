/**
 * smtp/input: the client's bytes for an SMTP server, read from a Readable
 * (the connection: a socket in-process under tcpserver, fd 0 as a process)
 * without blocking the event loop, with qmail-smtpd's rules:
 *
 * - timeout: each wait for new bytes lasts at most `timeout` seconds
 *   (timeoutsmtpd; timeoutread); then next() throws InputTimeout.
 * - before waiting, the `beforeWait` hook runs (qmail flushes its replies
 *   before every read, which is what makes pipelining work: replies are
 *   batched while the client's commands are buffered, and all sent before
 *   the server would block).
 * - commands: line() returns the bytes up to `\n` with one trailing `\r`
 *   removed (qmail's commands.c: bare LF ends a command too); a line longer
 *   than `maxLine` bytes throws LineTooLong (qmail has no limit but memory).
 * - EOF or a read error: next()/line() return null.
 *
 * Bytes not consumed by a caller are given back with unread() and returned
 * first by the next call, so the DATA phase and the command reader can share
 * one stream with pipelined input.
 */
import type { Readable } from 'node:stream';

/** The client sent nothing for `timeout` seconds. */
export class InputTimeout extends Error {
  constructor() {
    super('timeout');
  }
}

/** A command line beyond the limit. */
export class LineTooLong extends Error {
  constructor() {
    super('line too long');
  }
}

/** Buffered, timed reads from a Readable (see the module comment). */
export class SmtpInput {
  /** the stream read from */
  readonly stream: Readable;
  private readonly timeoutMs: number;
  private readonly beforeWait: () => Promise<void> | void;
  private pending: Buffer | undefined;
  private eof = false;

  /**
   * @param stream the connection (its 'readable'/'end' events are used; nothing else may read it)
   * @param timeout seconds per wait (>= 1)
   * @param beforeWait run before each wait for input (flush the replies)
   */
  constructor(stream: Readable, timeout: number, beforeWait: () => Promise<void> | void) {
    this.stream = stream;
    this.timeoutMs = timeout * 1000;
    this.beforeWait = beforeWait;
  }

  /** Drop whatever is buffered and read nothing more (STARTTLS hands the stream over). */
  close(): void {
    this.pending = undefined;
    this.eof = true;
  }

  /** Give bytes back to be read first. */
  unread(b: Buffer): void {
    if (b.length === 0) return;
    this.pending = this.pending ? Buffer.concat([b, this.pending]) : b;
  }

  /** The next bytes (any amount > 0), or null at EOF / read error. Throws InputTimeout. */
  async next(): Promise<Buffer | null> {
    if (this.pending) {
      const p = this.pending;
      this.pending = undefined;
      return p;
    }
    for (;;) {
      if (this.eof) return null;
      const b = this.stream.read() as Buffer | string | null;
      if (b !== null) return typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
      if (this.stream.readableEnded || this.stream.destroyed || this.stream.errored) {
        this.eof = true;
        return null;
      }
      await this.beforeWait();
      await this.wait();
    }
  }

  /** Wait for 'readable', 'end', 'close' or 'error'; throw InputTimeout after the timeout. */
  private wait(): Promise<void> {
    const st = this.stream;
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        st.off('readable', readable);
        st.off('end', ended);
        st.off('close', ended);
        st.off('error', ended);
      };
      const readable = (): void => {
        done();
        resolve();
      };
      const ended = (): void => {
        this.eof = true;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new InputTimeout());
      }, this.timeoutMs);
      st.on('readable', readable);
      st.on('end', ended);
      st.on('close', ended);
      st.on('error', ended);
    });
  }

  /**
   * The next command line without its `\n` (and one `\r` before it), or
   * null at EOF (a partial last line is dropped, as qmail drops it).
   * Throws LineTooLong beyond maxLine bytes, InputTimeout.
   */
  async line(maxLine: number): Promise<Buffer | null> {
    const parts: Buffer[] = [];
    let len = 0;
    for (;;) {
      const b = await this.next();
      if (b === null) return null;
      const nl = b.indexOf(0x0a);
      if (nl < 0) {
        parts.push(b);
        len += b.length;
        if (len > maxLine) throw new LineTooLong();
        continue;
      }
      this.unread(b.subarray(nl + 1));
      parts.push(b.subarray(0, nl));
      len += nl;
      if (len > maxLine) throw new LineTooLong();
      let line = parts.length === 1 ? parts[0] : Buffer.concat(parts, len);
      if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
      return line;
    }
  }
}
