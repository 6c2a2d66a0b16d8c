/**
 * strerr: daemontools-style diagnostics on fd 2 (strerr_die.c): `prog: fatal: ...`,
 * `prog: warning: ...`, `prog: usage: ...`. Writes are synchronous so a message
 * is out before the process exits or execs. Exit codes: 100 = usage/permanent,
 * 111 = temporary/system failure.
 */
import { fs } from './nodefs.ts';
import { errstr } from './errstr.ts';

/** Thrown by die(): carries the exit status; caught by the launcher (launch.ts). */
export class Exit extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`exit ${status}`);
    this.status = status;
  }
}

/** Write a whole buffer/string to fd, retrying short writes and EAGAIN. */
export function writeAll(fd: number, data: string | Uint8Array): void {
  let buf = typeof data === 'string' ? Buffer.from(data) : data;
  while (buf.length > 0) {
    let n: number;
    try {
      n = fs.writeSync(fd, buf);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw e;
    }
    buf = buf.subarray(n);
  }
}

/** Print a line on stderr ignoring errors (a closed stderr must not kill a daemon). */
export function errline(line: string): void {
  try {
    writeAll(2, line + '\n');
  } catch {
    /* nothing to do */
  }
}

/** `prog: warning: parts...` (+ `: errstr(err)` when err is given). */
export function warn(prog: string, text: string, err?: unknown): void {
  errline(`${prog}: warning: ${text}${err === undefined ? '' : ': ' + errstr(err)}`);
}

/** `prog: fatal: text[: errstr]` then throw Exit(status). */
export function die(prog: string, status: number, text: string, err?: unknown): never {
  errline(`${prog}: fatal: ${text}${err === undefined ? '' : ': ' + errstr(err)}`);
  throw new Exit(status);
}

/** `prog: usage: text` then throw Exit(status) (100 unless the original differs). */
export function usage(prog: string, text: string, status = 100): never {
  errline(`${prog}: usage: ${prog} ${text}`);
  throw new Exit(status);
}
