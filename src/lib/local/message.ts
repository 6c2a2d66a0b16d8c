/**
 * local/message: the message qmail-local delivers, read as often as the
 * .qmail file needs it (qmail-local rewinds fd 0 before each delivery).
 * A regular file given by path; messages up to INMEMORY bytes are read
 * once and kept, larger ones are re-opened and streamed for each use, so
 * memory stays bounded. Opening a fresh descriptor per use keeps offsets
 * private to each delivery (in-process deliveries run concurrently).
 */
import { closeSync, constants, fstatSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fdSource, type ByteSource } from '../queue/source.ts';

/** Messages up to this many bytes are kept in memory. */
export const INMEMORY = 1 << 20;

/** A message file (see module comment). Paths are Buffers or strings. */
export class Message {
  readonly path: string | Buffer;
  readonly size: number;
  private readonly bytes: Buffer | undefined;

  private constructor(path: string | Buffer, size: number, bytes: Buffer | undefined) {
    this.path = path;
    this.size = size;
    this.bytes = bytes;
  }

  /**
   * Open the message at path. Throws the open/read errno; a non-regular
   * file throws an error with code 'ESPIPE' (cannot be rewound).
   */
  static open(path: string | Buffer): Message {
    const fd = openSync(path, constants.O_RDONLY);
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ESPIPE' });
      if (st.size > INMEMORY) return new Message(path, st.size, undefined);
      const buf = Buffer.allocUnsafe(st.size);
      let off = 0;
      while (off < buf.length) {
        const n = readSync(fd, buf, off, buf.length - off, off);
        if (n === 0) break;
        off += n;
      }
      return new Message(path, off, buf.subarray(0, off));
    } finally {
      closeSync(fd);
    }
  }

  /** The message from its start: bytes when kept in memory, else a stream to close(). */
  source(): { data: Uint8Array | ByteSource; close: () => void } {
    if (this.bytes) return { data: this.bytes, close: () => undefined };
    const fd = openSync(this.path, constants.O_RDONLY);
    return { data: fdSource(fd), close: () => closeSync(fd) };
  }

  /**
   * Bytes received from elsewhere (qmail-lspawn's workers get the message
   * over a pipe): kept in memory; a program's stdin is an unlinked copy in
   * the temporary directory, made on first use (close() removes it).
   */
  static fromBytes(bytes: Buffer): Message {
    return new Message('', bytes.length, bytes);
  }

  private spool = -1;

  /** A new descriptor at offset 0 (a program's stdin); the caller closes it. */
  openFd(): number {
    if (this.path !== '') return openSync(this.path, constants.O_RDONLY);
    if (this.spool < 0) {
      const name = `${tmpdir()}/qmail-local.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}`;
      const fd = openSync(name, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
      unlinkSync(name);
      let off = 0;
      while (off < this.size) off += writeSync(fd, this.bytes!, off, this.size - off, off);
      this.spool = fd;
    }
    return openSync(`/proc/self/fd/${this.spool}`, constants.O_RDONLY);
  }

  /** Release the spool copy, if any. */
  close(): void {
    if (this.spool >= 0) closeSync(this.spool);
    this.spool = -1;
  }

  /** The whole message as bytes. */
  async readAll(): Promise<Buffer> {
    const { data, close } = this.source();
    try {
      if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.length);
      const parts: Buffer[] = [];
      for (;;) {
        const b = Buffer.allocUnsafe(65536);
        const n = await data.read(b);
        if (n === 0) return Buffer.concat(parts);
        parts.push(b.subarray(0, n));
      }
    } finally {
      close();
    }
  }

  /** The header lines (each with its `\n`) up to the first line that is just `\n` or the end. */
  async headerLines(): Promise<Buffer[]> {
    const out: Buffer[] = [];
    const { data, close } = this.source();
    try {
      let pending = Buffer.alloc(0);
      const scan = (chunk: Buffer, final: boolean): boolean => {
        let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        let s = 0;
        for (;;) {
          const nl = buf.indexOf(0x0a, s);
          if (nl < 0) break;
          if (nl - s === 0) return true; // `\n` alone: end of header
          out.push(buf.subarray(s, nl + 1));
          s = nl + 1;
        }
        buf = buf.subarray(s);
        pending = Buffer.from(buf);
        return final;
      };
      if (data instanceof Uint8Array) {
        scan(Buffer.from(data.buffer, data.byteOffset, data.length), true);
        return out;
      }
      const chunk = Buffer.allocUnsafe(65536);
      for (;;) {
        const n = await data.read(chunk);
        if (scan(Buffer.from(chunk.subarray(0, n)), n === 0)) return out;
      }
    } finally {
      close();
    }
  }
}
