/**
 * pop3/command: reading POP3 command lines (RFC 1939 section 3) the way
 * qmail's commands.c splits them, for qmail-popup and qmail-pop3d.
 *
 * A line ends at LF; one CR before the LF is dropped. The verb is everything
 * up to the first space (compared case-insensitively by the caller), the
 * argument everything after the spaces that follow it (further spaces are
 * kept: `PASS a b` has the argument `a b`). Bytes are kept as latin1 so a
 * password with any byte but NUL/LF survives unchanged.
 *
 * Defensive limit (not in the original, whose buffer grows without bound):
 * a line longer than MAX_LINE bytes is read to its end and discarded, and
 * the reader reports it as { verb: '', arg: '', overlong: true } so the
 * caller can answer `-ERR line too long` instead of growing memory.
 *
 * Public:
 *   MAX_LINE                     bytes of a command line (without CRLF)
 *   splitCommand(line)           -> { verb, arg }
 *   class LineReader(source, idleSeconds)
 *     next() -> Promise<Command | null>   null at end of input or after
 *                                         idleSeconds without a byte
 *     rest() -> Buffer            bytes read past the last line (pipelined)
 *   streamSource(readable), fdSource(fd)  the two byte sources
 */
import { read } from 'node:fs';
import type { Readable } from 'node:stream';

/** Longest accepted command line in bytes, CRLF excluded (RFC 2449 allows 255; passwords may be longer). */
export const MAX_LINE = 2048;

/** One command line, split. */
export interface Command {
  /** the verb as sent (not case-folded) */
  verb: string;
  /** the argument (latin1), '' when none */
  arg: string;
  /** true when the line exceeded MAX_LINE and was discarded */
  overlong?: boolean;
}

/** Split a line (no CRLF) as commands.c does: verb up to the first space, then skip spaces. */
export function splitCommand(line: string): Command {
  const i = line.indexOf(' ');
  if (i < 0) return { verb: line, arg: '' };
  let j = i;
  while (line.charCodeAt(j) === 32) j++;
  return { verb: line.slice(0, i), arg: line.slice(j) };
}

/** Something that yields chunks of bytes: an empty Buffer means end of input. */
export interface ByteSource {
  read(): Promise<Buffer>;
  /** stop reading (no further read() will be made) */
  close(): void;
}

/**
 * Stop a stream reading now. Readable.pause() alone lets a socket go on
 * reading into the stream's buffer up to its high-water mark; bytes read
 * that way would never reach a program the connection is handed to, so a
 * socket's handle is stopped as well (resume() starts it again).
 */
function hardPause(r: Readable): void {
  r.pause();
  const h = (r as unknown as { _handle?: { reading?: boolean; readStop?: () => number } })._handle;
  if (h && h.reading && typeof h.readStop === 'function') {
    h.reading = false;
    h.readStop();
  }
}

/** A byte source over a Readable (a socket or process.stdin): stopped whenever no read is waiting. */
export function streamSource(r: Readable): ByteSource {
  const queue: Buffer[] = [];
  let ended = false;
  let waiting: ((b: Buffer) => void) | undefined;
  const deliver = (): void => {
    if (!waiting) return;
    const w = waiting;
    if (queue.length > 0) {
      waiting = undefined;
      w(queue.shift()!);
    } else if (ended) {
      waiting = undefined;
      w(Buffer.alloc(0));
    }
  };
  const onData = (b: Buffer | string): void => {
    queue.push(typeof b === 'string' ? Buffer.from(b, 'latin1') : b);
    hardPause(r);
    deliver();
  };
  const onEnd = (): void => {
    ended = true;
    deliver();
  };
  r.on('data', onData);
  r.on('end', onEnd);
  r.on('close', onEnd);
  r.on('error', onEnd);
  hardPause(r);
  return {
    read(): Promise<Buffer> {
      return new Promise((resolve) => {
        waiting = resolve;
        if (queue.length > 0 || ended) deliver();
        else r.resume();
      });
    },
    close(): void {
      hardPause(r);
      r.off('data', onData);
    },
  };
}

/** A byte source reading a descriptor with read(2) (no stream: fd flags stay as they are). */
export function fdSource(fd: number, size = 4096): ByteSource {
  return {
    read(): Promise<Buffer> {
      return new Promise((resolve) => {
        const buf = Buffer.allocUnsafe(size);
        const attempt = (): void => {
          read(fd, buf, 0, size, null, (err, n) => {
            if (err) {
              if (err.code === 'EAGAIN' || err.code === 'EINTR') setTimeout(attempt, 10);
              else resolve(Buffer.alloc(0));
            } else resolve(buf.subarray(0, n));
          });
        };
        attempt();
      });
    },
    close(): void {},
  };
}

/** Reads command lines from a ByteSource with an idle timeout (seconds). */
export class LineReader {
  private buf: Buffer = Buffer.alloc(0);
  private eof = false;
  private readonly src: ByteSource;
  private readonly idleMs: number;

  constructor(src: ByteSource, idleSeconds: number) {
    this.src = src;
    this.idleMs = idleSeconds * 1000;
  }

  /** One chunk, or an empty buffer at end of input or after the idle timeout. */
  private chunk(): Promise<Buffer> {
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(Buffer.alloc(0)), this.idleMs);
      void this.src.read().then((b) => {
        clearTimeout(t);
        resolve(b);
      });
    });
  }

  /** The next command, or null at end of input / idle timeout. */
  async next(): Promise<Command | null> {
    let skipping = false;
    for (;;) {
      const nl = this.buf.indexOf(10);
      if (nl >= 0) {
        let end = nl;
        if (end > 0 && this.buf[end - 1] === 13) end--;
        const line = this.buf.subarray(0, end);
        this.buf = this.buf.subarray(nl + 1);
        if (skipping || line.length > MAX_LINE) return { verb: '', arg: '', overlong: true };
        return splitCommand(line.toString('latin1'));
      }
      if (this.buf.length > MAX_LINE + 1) {
        skipping = true;
        this.buf = Buffer.alloc(0);
      }
      if (this.eof) return null;
      const b = await this.chunk();
      if (b.length === 0) {
        this.eof = true;
        return null;
      }
      this.buf = this.buf.length === 0 ? b : Buffer.concat([this.buf, b]);
    }
  }

  /** Bytes already read past the last returned line. */
  rest(): Buffer {
    return this.buf;
  }

  /** Stop reading the source. */
  close(): void {
    this.src.close();
  }
}
