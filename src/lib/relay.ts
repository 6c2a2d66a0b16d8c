/**
 * relay: the copying half of fixcrio and recordio (fixcrio(1), recordio(1);
 * ../shared/FORMATS.md section 11). The originals fork: the program keeps
 * the original process (and pid), the child copies between the outside
 * world and the program. Node cannot fork, so those programs spawn this
 * module as the child (relayArgv()) and then exec the program:
 *
 *     node dist/src/lib/launch.js src/lib/relay MODE [PID]   (MODE is its argv[0])
 *
 * with fd 0/1 = the original stdin/stdout, fd 2 = stderr, fd 3 = the write
 * end of the program's stdin pipe, fd 4 = the read end of the program's
 * stdout pipe. MODE `fixcrio`: both directions pass through FixCr (a CR
 * before every bare LF). MODE `recordio`: bytes pass unchanged, in pieces of
 * at most 256 bytes (the original's read size), each logged on fd 2 as
 * recordLines(PID, '<' or '>', ...), then `PID < [EOF]` / `PID > [EOF]`.
 * At end of stdin the program's stdin is closed; at the end of the program's
 * output the relay exits 0 at once, without waiting for stdin (as the
 * originals' copier does: under tcpserver the client sees the connection
 * close when the program is done). A failed write ends that direction.
 *
 * I/O: sockets, pipes and a terminal on stdin are read through libuv
 * handles (epoll), never by blocking reads in the thread pool, which would
 * keep the process from exiting while the other side is silent; sockets and
 * pipes are written the same way. Other descriptors (files, /dev/null) use
 * plain reads and writes.
 */
import { close, fstatSync, read, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { isatty, ReadStream } from 'node:tty';
import type { Ctx } from './program.ts';
import { writeAll } from './strerr.ts';
import { FixCr, recordEof, recordLines } from './crlf.ts';
import { ROOT } from './root.ts';

/** [file, args] that start the relay child for mode (and recordio's pid). */
export function relayArgv(mode: 'fixcrio' | 'recordio', pid?: number): [string, string[]] {
  const args = ['--disable-warning=ExperimentalWarning', `${ROOT}/dist/src/lib/launch.js`, 'src/lib/relay', mode];
  if (pid !== undefined) args.push(String(pid));
  return [process.execPath, args];
}

/** True for a socket or FIFO (a descriptor libuv can watch). */
function pollable(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    return st.isSocket() || st.isFIFO();
  } catch {
    return false;
  }
}

/** The reads of fd until EOF or an error (errors end the stream quietly). */
async function* input(fd: number): AsyncGenerator<Buffer> {
  if (pollable(fd) || isatty(fd)) {
    // a terminal: libuv reopens it, so its non-blocking mode stays ours
    const s = isatty(fd) ? new ReadStream(fd) : new Socket({ fd, readable: true, writable: false });
    try {
      for await (const chunk of s) yield chunk as Buffer;
    } catch {
      /* reset or error: end of this direction */
    }
    return;
  }
  const buf = Buffer.allocUnsafe(65536);
  for (;;) {
    const n = await new Promise<number>((resolve) =>
      read(fd, buf, 0, buf.length, null, (err, got) => resolve(err ? 0 : got)),
    );
    if (n === 0) return;
    yield Buffer.from(buf.subarray(0, n));
  }
}

/** A writer for fd: write(b) resolves when the bytes are handed over; end() closes fd. */
function output(fd: number): { write(b: Buffer): Promise<void>; end(): void } {
  if (pollable(fd)) {
    const s = new Socket({ fd, readable: false, writable: true });
    s.on('error', () => undefined);
    return {
      write: (b) => new Promise((resolve, reject) => s.write(b, (err) => (err ? reject(err) : resolve()))),
      end: () => s.destroySoon(),
    };
  }
  return {
    write: async (b) => {
      let off = 0;
      while (off < b.length) off += writeSync(fd, b, off);
    },
    end: () => close(fd, () => undefined),
  };
}

/** Copy from -> to through f until EOF or a failed write, then call done. */
async function pump(from: number, to: ReturnType<typeof output>, f: (b: Buffer) => Buffer[], done: () => void): Promise<void> {
  try {
    for await (const chunk of input(from)) for (const piece of f(chunk)) await to.write(piece);
  } catch {
    /* write failed: this direction is over */
  }
  done();
}

/** chunk in pieces of at most n bytes. */
function pieces(chunk: Buffer, n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < chunk.length; i += n) out.push(chunk.subarray(i, i + n));
  return out;
}

export async function main(ctx: Ctx): Promise<number> {
  const mode = ctx.argv[0];
  const pid = Number(ctx.argv[1] ?? 0);
  const toProg = output(3);
  const toOut = output(1);
  if (mode === 'recordio') {
    const log = (b: Buffer) => {
      try {
        writeAll(2, b);
      } catch {
        /* stderr gone: keep copying */
      }
    };
    const logged = (dir: '<' | '>') => (chunk: Buffer) => pieces(chunk, 256).map((p) => (log(recordLines(pid, dir, p)), p));
    void pump(0, toProg, logged('<'), () => (log(recordEof(pid, '<')), toProg.end()));
    await pump(4, toOut, logged('>'), () => log(recordEof(pid, '>')));
    return 0;
  }
  const inward = new FixCr();
  const outward = new FixCr();
  void pump(0, toProg, (b) => [inward.push(b)], () => toProg.end());
  await pump(4, toOut, (b) => [outward.push(b)], () => undefined);
  return 0;
}
