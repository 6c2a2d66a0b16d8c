/**
 * smtp/output: an SMTP server's replies, buffered as qmail's substdio on fd
 * 1 buffers them: out() appends, flush() writes what has gathered. A flush
 * that the client does not take within `timeout` seconds (timeoutwrite), or
 * a write error, rejects with WriteFailed: the session then ends (qmail
 * `_exit(1)`s in safewrite).
 */
import type { Writable } from 'node:stream';

/** The connection could not take our replies (error or timeout). */
export class WriteFailed extends Error {
  constructor(why: string) {
    super(why);
  }
}

/** Gathers replies (latin1 strings) and writes them in one piece per flush. */
export class SmtpOutput {
  /** the stream written to */
  readonly stream: Writable;
  private readonly timeoutMs: number;
  private buf = '';
  private broken = false;
  private readonly onError = (): void => {
    this.broken = true;
  };

  /** @param stream the connection; @param timeout seconds a write may take (timeoutsmtpd) */
  constructor(stream: Writable, timeout: number) {
    this.stream = stream;
    this.timeoutMs = timeout * 1000;
    stream.on('error', this.onError);
  }

  /** Append a reply (latin1); the caller flushes (see pending). */
  out(s: string): void {
    this.buf += s;
  }

  /** Bytes waiting to be flushed. */
  get pending(): number {
    return this.buf.length;
  }

  /** Write everything gathered; resolves once the stream took it. Rejects WriteFailed. */
  flush(): Promise<void> {
    if (this.buf === '') return Promise.resolve();
    const b = Buffer.from(this.buf, 'latin1');
    this.buf = '';
    if (this.broken || this.stream.destroyed || this.stream.writableEnded) return Promise.reject(new WriteFailed('connection closed'));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.broken = true;
        reject(new WriteFailed('timeout'));
      }, this.timeoutMs);
      this.stream.write(b, (err) => {
        clearTimeout(timer);
        if (err) {
          this.broken = true;
          reject(new WriteFailed(err.message));
        } else resolve();
      });
    });
  }

  /** Stop listening for errors on the stream (the session is over). */
  release(): void {
    this.stream.off('error', this.onError);
    this.stream.on('error', () => undefined);
  }
}
