/**
 * smtp/feed: the message bytes of one DATA phase on their way to the queue
 * while the client is still sending them, as qmail-smtpd writes into
 * qmail-queue's pipe (qmail_put) instead of holding the message: memory
 * stays small whatever the message size.
 *
 * The producer (the session) push()es chunks, then end()s, or fail()s when
 * the message must not be queued (over databytes, too many hops, bare LF,
 * EOF, timeout: qmail_fail). The consumer reads it as a queue/source.ts
 * ByteSource: read() resolves with bytes, 0 at the end, and rejects after
 * fail() (queueInject then removes its files and answers 54, "read error").
 * Once the consumer has stopped (abandon(), e.g. the queue already failed),
 * pushed bytes are dropped.
 */
import type { ByteSource } from '../queue/source.ts';

/** Thrown to the consumer after fail(). */
export class FeedFailed extends Error {
  constructor() {
    super('message not to be queued');
  }
}

/** A one-producer, one-consumer byte channel (see the module comment). */
export class MessageFeed implements ByteSource {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private failed = false;
  private abandoned = false;
  private waiting: (() => void) | undefined;

  /** Queue bytes for the consumer. */
  push(b: Buffer): void {
    if (this.ended || this.failed || this.abandoned || b.length === 0) return;
    this.chunks.push(b);
    this.buffered += b.length;
    this.wake();
  }

  /** No more bytes: the consumer's next read after the buffered ones gives 0. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  /** The message is not to be queued: the consumer's reads reject. */
  fail(): void {
    this.failed = true;
    this.chunks = [];
    this.buffered = 0;
    this.wake();
  }

  /** The consumer is gone: drop what comes. */
  abandon(): void {
    this.abandoned = true;
    this.chunks = [];
    this.buffered = 0;
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  /**
   * ByteSource.read: up to into.length bytes, 0 at the end; rejects after
   * fail(). It waits until a full buffer is there (or the end), so a small
   * message reaches the queue file in one write and a big one in pieces of
   * the consumer's buffer size: fewer system calls, bounded memory.
   */
  async read(into: Buffer): Promise<number> {
    for (;;) {
      if (this.failed) throw new FeedFailed();
      if (this.buffered >= into.length || (this.ended && this.buffered > 0)) {
        let n = 0;
        while (n < into.length && this.chunks.length > 0) {
          const c = this.chunks[0];
          const k = Math.min(c.length, into.length - n);
          c.copy(into, n, 0, k);
          n += k;
          if (k === c.length) this.chunks.shift();
          else this.chunks[0] = c.subarray(k);
        }
        this.buffered -= n;
        return n;
      }
      if (this.ended) return 0;
      await new Promise<void>((r) => (this.waiting = r));
    }
  }
}
