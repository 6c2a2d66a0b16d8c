/**
 * multilog/writer: the byte stream of one log directory, cut into files
 * exactly where daemontools 0.76 multilog cuts it (FORMATS.md section 5).
 *
 * The C program puts each line into a 512-byte buffer (buffer_put: a put
 * that does not fit flushes the buffer, then writes directly in pieces of at
 * most 8192 bytes while more than 512 remain) and flushes it before every
 * read of stdin. Each write (c_write) never lets `current` exceed SIZE,
 * is cut after its last newline once `current` would reach SIZE-2000, and is
 * followed by a rotation when it ends with a newline at or beyond SIZE-2000;
 * a `current` already at SIZE is rotated before the next write.
 *
 * We do not perform those small writes: callers append the bytes of the log
 * (append/put in the C program's put sizes), call flush() where the C program
 * would read, and sync() before a real read; LogWriter replays the C write
 * sizes with integer arithmetic only, and performs one real write per file
 * segment, calling the sink's rotate() at the same byte offsets as the C
 * program. Offsets below are positions in `out`, the bytes not yet on disk.
 */

/** The C program's per-directory buffer size (bytes). */
export const BUFSIZE = 512;
/** buffer_put's largest direct write (BUFFER_OUTSIZE, bytes). */
export const OUTSIZE = 8192;
/** Distance below SIZE from which writes end at newlines (bytes). */
export const CUTZONE = 2000;

/** Where the bytes go: the log directory (see logdir.ts). */
export interface Sink {
  /** Append data[start, end) to `current` (retrying until done). */
  write(data: Uint8Array, start: number, end: number): void;
  /** The C program's fullcurrent(): `current` is full; start a new one. */
  rotate(): void;
}

/**
 * The C program's view of one directory (buffer fill, size of `current`)
 * plus the bytes we have not yet written. Use: append() then put()/putBytes()
 * per line, flush() at each 1024-byte read, sync() before each real read.
 */
export class LogWriter {
  private readonly sink: Sink;
  private readonly size: number;
  /** size of `current` as the C program sees it (bytes written into it) */
  bytes: number;
  /** pending bytes; [0, done) already on disk */
  out: Buffer;
  /** bytes appended to out */
  len = 0;
  /** end of what the C program would have put into its buffer */
  private q = 0;
  /** end of what the C program would have written */
  private w = 0;
  /** end of what we actually wrote */
  private done = 0;

  /** size: SIZE of the directory; bytes: current size of `current`. */
  constructor(sink: Sink, size: number, bytes: number) {
    this.sink = sink;
    this.size = size;
    this.bytes = bytes;
    this.out = Buffer.allocUnsafe(0);
  }

  /** Make room for n more bytes in out. */
  reserve(n: number): void {
    const need = this.len + n;
    if (need <= this.out.length) return;
    let cap = Math.max(this.out.length * 2, 65536);
    while (cap < need) cap *= 2;
    const b = Buffer.allocUnsafe(cap);
    this.out.copy(b, 0, 0, this.len);
    this.out = b;
  }

  /** Append bytes (not yet put). */
  append(src: Uint8Array, start: number, end: number): void {
    this.reserve(end - start);
    this.out.set(src.subarray(start, end), this.len);
    this.len += end - start;
  }

  /** buffer_put of the next n appended bytes. */
  put(n: number): void {
    const p = this.q - this.w;
    if (n > BUFSIZE - p) {
      if (p > 0) this.allwrite(p);
      let rem = n;
      while (rem > BUFSIZE) {
        const k = rem < OUTSIZE ? rem : OUTSIZE;
        this.allwrite(k);
        rem -= k;
      }
    }
    this.q += n;
  }

  /** n successive one-byte puts of the next appended bytes. */
  putBytes(n: number): void {
    while (n > 0) {
      if (this.q - this.w === BUFSIZE) this.allwrite(BUFSIZE);
      const space = BUFSIZE - (this.q - this.w);
      const k = n < space ? n : space;
      this.q += k;
      n -= k;
    }
  }

  /** buffer_flush: where the C program reads stdin. */
  flush(): void {
    const p = this.q - this.w;
    if (p > 0) this.allwrite(p);
  }

  /** Write everything flushed so far to disk and empty out (call after flush()). */
  sync(): void {
    if (this.w > this.done) this.sink.write(this.out, this.done, this.w);
    const rest = this.len - this.w;
    if (rest > 0) this.out.copy(this.out, 0, this.w, this.len);
    this.len = rest;
    this.q -= this.w;
    this.w = 0;
    this.done = 0;
  }

  /** Rotate now if `current` is non-empty (SIGALRM); call only right after sync(). */
  forceRotate(): void {
    if (this.bytes > 0) {
      this.sink.rotate();
      this.bytes = 0;
    }
  }

  /** allwrite: c_write until n bytes from w are written. */
  private allwrite(n: number): void {
    while (n > 0) n -= this.cwrite(n);
  }

  /** c_write of len bytes at w: returns how many the C program writes. */
  private cwrite(len: number): number {
    const size = this.size;
    if (this.bytes >= size) this.rotateAt(this.w);
    if (len >= size - this.bytes) len = size - this.bytes;
    const w = this.w;
    if (this.bytes + len >= size - CUTZONE) {
      const i = this.out.lastIndexOf(10, w + len - 1);
      if (i >= w) len = i - w + 1;
    }
    this.w = w + len;
    this.bytes += len;
    if (this.bytes >= size - CUTZONE && this.out[w + len - 1] === 10) this.rotateAt(this.w);
    return len;
  }

  private rotateAt(off: number): void {
    if (off > this.done) this.sink.write(this.out, this.done, off);
    this.done = off;
    this.sink.rotate();
    this.bytes = 0;
  }
}
