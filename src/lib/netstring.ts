/**
 * netstring: D. J. Bernstein's netstrings (cr.yp.to/proto/netstrings.txt),
 * the framing of QMTP and QMQP (qmail-qmtpd(8), qmail-qmqpd(8),
 * qmail-qmqpc(8)): `LEN:BYTES,` where LEN is the decimal length of BYTES
 * (no sign, no spaces; qmail accepts leading zeros).
 *
 * Public:
 *   encode(b)              one netstring (Buffer); strings are latin1
 *   encodeList(items)      the concatenation of the items' netstrings
 *   parse(buf, off, max)   one netstring at buf[off..]: value and next offset,
 *                          'more' when buf ends too early; throws NetstringError
 *   parseAll(buf, max)     a buffer holding whole netstrings only
 *   ByteReader             pull bytes from a Readable (async, buffered)
 *
 * Errors: NetstringError (`.reason`: 'length' for a non-digit in LEN or an
 * empty LEN, 'toolong' when LEN exceeds the caller's maximum, 'comma' when the
 * byte after BYTES is not `,`). The QMTP/QMQP servers exit 100 on it.
 */
import type { Readable } from 'node:stream';

/** A malformed netstring. */
export class NetstringError extends Error {
  readonly reason: 'length' | 'toolong' | 'comma';
  constructor(reason: 'length' | 'toolong' | 'comma') {
    super(`malformed netstring (${reason})`);
    this.reason = reason;
  }
}

/** `LEN:BYTES,` for b (a string is taken as latin1). */
export function encode(b: Uint8Array | string): Buffer {
  const body = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
  return Buffer.concat([Buffer.from(`${body.length}:`, 'latin1'), body, Buffer.from(',')]);
}

/** The netstrings of the items, concatenated. */
export function encodeList(items: Array<Uint8Array | string>): Buffer {
  return Buffer.concat(items.map(encode));
}

/**
 * Parse one netstring starting at buf[off]. `max` bounds LEN (bytes;
 * default 2^31). Returns the value (a view into buf) and the offset after
 * its comma, or 'more' when buf ends before the netstring does. Throws
 * NetstringError.
 */
export function parse(buf: Uint8Array, off = 0, max = 0x7fffffff): { value: Buffer; next: number } | 'more' {
  let i = off;
  let len = 0;
  let digits = 0;
  for (;;) {
    if (i >= buf.length) return 'more';
    const c = buf[i++];
    if (c === 0x3a) break;
    if (c < 0x30 || c > 0x39) throw new NetstringError('length');
    len = len * 10 + (c - 0x30);
    digits++;
    if (len > max) throw new NetstringError('toolong');
  }
  if (digits === 0) throw new NetstringError('length');
  if (buf.length - i < len + 1) return 'more';
  if (buf[i + len] !== 0x2c) throw new NetstringError('comma');
  const b = Buffer.from(buf.buffer, buf.byteOffset + i, len);
  return { value: b, next: i + len + 1 };
}

/** All netstrings of buf, which must hold whole netstrings and nothing else. Throws NetstringError. */
export function parseAll(buf: Uint8Array, max?: number): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off < buf.length) {
    const r = parse(buf, off, max);
    if (r === 'more') throw new NetstringError('comma');
    out.push(r.value);
    off = r.next;
  }
  return out;
}

/** Thrown by ByteReader when the stream ends (or fails) before the bytes asked for. */
export class EndOfInput extends Error {
  constructor() {
    super('end of input');
  }
}

/**
 * Buffered reader over a Readable for byte-at-a-time protocol parsers (the
 * QMTP/QMQP servers, qmail-qmqpc's reply). `byte()` is synchronous when data
 * is buffered (`-1` when not: then `await fill()`), so loops stay fast.
 * End of stream or a stream error makes fill() throw EndOfInput.
 */
export class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private ended = false;
  private waiting: (() => void) | undefined;
  private readonly chunks: Buffer[] = [];

  private readonly stream: Readable;

  constructor(stream: Readable) {
    this.stream = stream;
    stream.on('data', (b: Buffer) => {
      this.chunks.push(b);
      stream.pause();
      this.wake();
    });
    const end = (): void => {
      this.ended = true;
      this.wake();
    };
    stream.on('end', end);
    stream.on('error', end);
    stream.on('close', end);
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  /** Bytes buffered and not yet consumed. */
  get available(): number {
    return this.buf.length - this.pos;
  }

  /** The next byte if one is buffered, else -1 (call fill()). */
  byte(): number {
    return this.pos < this.buf.length ? this.buf[this.pos++] : -1;
  }

  /** Wait until at least one byte is buffered. Throws EndOfInput at the end of the stream. */
  async fill(): Promise<void> {
    while (this.pos >= this.buf.length) {
      const next = this.chunks.shift();
      if (next) {
        this.buf = next;
        this.pos = 0;
        if (this.chunks.length === 0) this.stream.resume();
        continue;
      }
      if (this.ended) throw new EndOfInput();
      this.stream.resume();
      await new Promise<void>((r) => (this.waiting = r));
    }
  }

  /** The next byte without consuming it, waiting when needed. Throws EndOfInput. */
  async peek(): Promise<number> {
    if (this.pos >= this.buf.length) await this.fill();
    return this.buf[this.pos];
  }

  /** The next byte, waiting when needed. Throws EndOfInput. */
  async get(): Promise<number> {
    const c = this.byte();
    if (c >= 0) return c;
    await this.fill();
    return this.buf[this.pos++];
  }

  /** Up to n buffered bytes (at least 1, waiting when needed). Throws EndOfInput. */
  async some(n: number): Promise<Buffer> {
    if (this.pos >= this.buf.length) await this.fill();
    const k = Math.min(n, this.buf.length - this.pos);
    const b = this.buf.subarray(this.pos, this.pos + k);
    this.pos += k;
    return b;
  }

  /** Exactly n bytes. Throws EndOfInput. */
  async take(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const b = await this.some(left);
      parts.push(b);
      left -= b.length;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }
}

/**
 * Read a netstring's length and its colon from r: `123:` -> 123. At most 8
 * digits. Throws NetstringError on anything else, EndOfInput at the end.
 */
export async function readLength(r: ByteReader): Promise<number> {
  let len = 0;
  let digits = 0;
  for (;;) {
    const c = await r.get();
    if (c === 0x3a && digits > 0) return len;
    if (c < 0x30 || c > 0x39 || ++digits > 8) throw new NetstringError('length');
    len = len * 10 + (c - 0x30);
  }
}
