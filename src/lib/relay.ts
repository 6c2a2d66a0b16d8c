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
 * before every bare LF). MODE `recordio`: bytes pass unchanged, reads of at
 * most 256 bytes, each logged on fd 2 as recordLines(PID, '<' or '>', ...),
 * then `PID < [EOF]` / `PID > [EOF]`. At end of stdin the program's stdin
 * is closed; the relay exits 0 when both directions are done. A write that
 * fails (the reader went away) ends that direction as if at end of input.
 */
import { read, close } from 'node:fs';
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

/** One read(2) in the thread pool; EAGAIN (non-blocking fd) waits 10 ms; EOF = empty. */
function readAsync(fd: number, size: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(size);
  return new Promise((resolve, reject) => {
    const attempt = () =>
      read(fd, buf, 0, size, null, (err, n) => {
        if (err?.code === 'EAGAIN') setTimeout(attempt, 10);
        else if (err?.code === 'EINTR') attempt();
        else if (err) reject(err);
        else resolve(buf.subarray(0, n));
      });
    attempt();
  });
}

/** Copy from -> to through f until EOF (or an error), then call done. */
async function pump(from: number, to: number, size: number, f: (b: Buffer) => Buffer, done: () => void): Promise<void> {
  try {
    for (;;) {
      const b = await readAsync(from, size);
      if (b.length === 0) break;
      writeAll(to, f(b));
    }
  } catch {
    /* read or write failed: this direction is over */
  }
  done();
}

export async function main(ctx: Ctx): Promise<number> {
  const mode = ctx.argv[0];
  const pid = Number(ctx.argv[1] ?? 0);
  const closeFd = (fd: number) => close(fd, () => undefined);
  if (mode === 'recordio') {
    const log = (b: Buffer) => {
      try {
        writeAll(2, b);
      } catch {
        /* stderr gone: keep copying */
      }
    };
    await Promise.all([
      pump(0, 3, 256, (b) => (log(recordLines(pid, '<', b)), b), () => (log(recordEof(pid, '<')), closeFd(3))),
      pump(4, 1, 256, (b) => (log(recordLines(pid, '>', b)), b), () => (log(recordEof(pid, '>')), closeFd(1))),
    ]);
    return 0;
  }
  const toProg = new FixCr();
  const fromProg = new FixCr();
  await Promise.all([
    pump(0, 3, 8192, (b) => toProg.push(b), () => closeFd(3)),
    pump(4, 1, 8192, (b) => fromProg.push(b), () => closeFd(1)),
  ]);
  return 0;
}
