/**
 * remote/peer: qmail-remote's side of one SMTP connection: writes with a
 * deadline, and server replies read as qmail-remote.c's smtpcode() reads
 * them (each read and each write may take timeoutremote seconds).
 *
 * smtpcode(): the code is the first three bytes as decimal digits (any
 * other byte is taken as its value minus '0', so garbage gives a code no
 * caller accepts); a `-` after them means another line follows: the rest of
 * that line is read, then the next line's first three bytes are skipped and
 * the byte after them checked again. The text kept for reports is every
 * byte read except CR, at most 5000 bytes (HUGESMTPTEXT).
 *
 * Failures: end of stream, a socket error, or timeoutremote seconds without
 * progress reject with Dropped; the caller reports the connection as died.
 */
import type { Socket } from 'node:net';
import { ByteReader, EndOfInput } from '../netstring.ts';

/** Most bytes of reply text kept (qmail-remote.c HUGESMTPTEXT). */
export const HUGESMTPTEXT = 5000;

/** The connection died, timed out or was closed. */
export class Dropped extends Error {
  constructor() {
    super('connection died');
  }
}

/** One SMTP server connection (see module comment). */
export class Peer {
  /** text of the last reply (see module comment); cleared by whoever reports it */
  private text: number[] = [];
  private reader: ByteReader;
  private dead = false;

  /** @param timeout seconds allowed per read and per write (timeoutremote) */
  private sock: Socket;
  private readonly timeout: number;

  constructor(sock: Socket, timeout: number) {
    this.sock = sock;
    this.timeout = timeout;
    sock.on('error', () => (this.dead = true));
    this.reader = new ByteReader(sock);
  }

  /** Replace the transport (after STARTTLS) keeping the timeout. */
  rebind(sock: Socket): void {
    this.sock = sock;
    this.dead = false;
    sock.on('error', () => (this.dead = true));
    this.reader = new ByteReader(sock);
  }

  /** The socket in use. */
  get socket(): Socket {
    return this.sock;
  }

  private deadline<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => reject(new Dropped()), this.timeout * 1000);
      p.then(
        (v) => {
          clearTimeout(t);
          resolve(v);
        },
        () => {
          clearTimeout(t);
          reject(new Dropped());
        },
      );
    });
  }

  private async get(): Promise<number> {
    let c = this.reader.byte();
    if (c < 0) {
      try {
        await this.deadline(this.reader.fill());
      } catch (e) {
        throw e instanceof EndOfInput ? new Dropped() : e;
      }
      c = this.reader.byte();
    }
    if (c !== 0x0d && this.text.length < HUGESMTPTEXT) this.text.push(c === 0 ? 0x3f : c);
    return c;
  }

  /** Read one reply and give its code (smtpcode). Rejects with Dropped. */
  async code(): Promise<number> {
    this.text = [];
    let code = (await this.get()) - 48;
    code = code * 10 + ((await this.get()) - 48);
    code = code * 10 + ((await this.get()) - 48);
    let ch: number;
    for (;;) {
      ch = await this.get();
      if (ch !== 0x2d) break;
      while (ch !== 0x0a) ch = await this.get();
      await this.get();
      await this.get();
      await this.get();
    }
    while (ch !== 0x0a) ch = await this.get();
    // unsigned arithmetic in the original: a negative value is huge
    return code < 0 ? 0x100000000 + code : code;
  }

  /** The last reply's text (NUL bytes as `?`), then forget it. */
  takeText(): Buffer {
    const b = Buffer.from(this.text);
    this.text = [];
    return b;
  }

  /** Write b; resolves once the kernel took it. Rejects with Dropped (timeout, error, closed). */
  write(b: Uint8Array | string): Promise<void> {
    if (this.dead || this.sock.destroyed) return Promise.reject(new Dropped());
    return this.deadline(
      new Promise<void>((resolve, reject) => {
        this.sock.write(b, (e) => (e ? reject(e) : resolve()));
      }),
    );
  }

  /** Close the connection without waiting. */
  close(): void {
    this.sock.destroy();
  }
}
