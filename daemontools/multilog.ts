/**
 * multilog script: reads lines from stdin and appends selected lines to any
 * number of logs (multilog(8), daemontools 0.76; ../shared/FORMATS.md
 * section 5). Interchangeable with Debian's multilog: same script language,
 * same directory format, same file boundaries for the same input.
 *
 * Start-up (script order): `=file` is created (open_append, 0600) and opened
 * for writing; each log directory is created (0700), locked and recovered
 * (logdir.ts). Any start-up failure: `multilog: fatal: ...`, exit 111,
 * before reading input. Then stdin is read in large chunks until EOF (a read
 * error counts as EOF, as in the original); a partial last line gets a
 * newline; every `current` is fsynced and set to mode 0744; exit 0.
 *
 * Signals: SIGALRM rotates every non-empty `current` at the next read (at
 * once while waiting for input). SIGTERM ends at a line boundary: if the last
 * byte read was a newline multilog exits at once, else it reads one byte at
 * a time up to the next newline. (A read already waiting on a pipe when TERM
 * arrives may return more than the rest of the line: those lines are logged,
 * never dropped. After a chunk that ends inside a line, the next read from a
 * pipe takes one byte, which makes this rare.)
 *
 * Errors after start-up pause and retry every 5 s (pause.ts): data is never
 * dropped and input is blocked meanwhile.
 */
import { fs } from '../src/lib/nodefs.ts';
import { resolve } from 'node:path';
import type { Ctx } from '../src/lib/program.ts';
import { die, writeAll } from '../src/lib/strerr.ts';
import { sys } from '../src/lib/native.ts';
import { format, now } from '../src/lib/tai64.ts';
import { parseScript } from '../src/lib/multilog/script.ts';
import { LogDir } from '../src/lib/multilog/logdir.ts';
import { LogWriter } from '../src/lib/multilog/writer.ts';
import { LineSplitter, STATUSSIZE } from '../src/lib/multilog/lines.ts';

const { closeSync, constants: C, fstatSync, openSync, read, writeSync } = fs;

const PROG = 'multilog';
/** Our read size: a multiple of the C program's 1024-byte reads. */
const CHUNK = 256 * 1024;

/** One read(2) of fd 0 into buf; resolves to the count (-1 on error, which ends input). */
function readStdin(buf: Buffer, len: number): Promise<number> {
  return new Promise((res) => {
    const go = (): void =>
      read(0, buf, 0, len, null, (err, n) => {
        if (err && err.code === 'EAGAIN') setTimeout(go, 10);
        else res(err ? -1 : n);
      });
    go();
  });
}

/**
 * Exit 0 while a read of stdin is still blocked in libuv's thread pool:
 * process.exit() would wait for that thread forever, so the process image
 * is replaced by /bin/true (same pid, status 0; nothing else left to do).
 */
function exitNow(): void {
  try {
    sys.execve('/bin/true', ['true'], []);
  } catch {
    /* no /bin/true: fall back to a normal exit */
  }
}

/** The program: exit 0 at EOF or after TERM; 111 on a start-up failure (see above). */
export async function main(ctx: Ctx): Promise<number> {
  const sc = parseScript(ctx.argv.slice(1));
  // caught from the start (the C program blocks them during start-up)
  let term = false;
  let alarm = false;
  let wake: (() => void) | undefined;
  const onTerm = (): void => {
    term = true;
    wake?.();
  };
  const onAlarm = (): void => {
    alarm = true;
    wake?.();
  };
  process.on('SIGTERM', onTerm);
  process.on('SIGALRM', onAlarm);

  const statusFds: number[] = [];
  const dirs: LogDir[] = [];
  for (const t of sc.targets) {
    if (t.kind === 'status') {
      const name = sc.files[t.index];
      const path = resolve(ctx.cwd, name);
      try {
        closeSync(openSync(path, C.O_WRONLY | C.O_NONBLOCK | C.O_APPEND | C.O_CREAT, 0o600));
      } catch (e) {
        die(PROG, 111, `unable to create ${name}`, e);
      }
      try {
        statusFds[t.index] = openSync(path, C.O_WRONLY | C.O_NONBLOCK);
      } catch (e) {
        die(PROG, 111, `unable to write ${name}`, e);
      }
    } else {
      const d = new LogDir(sc.dirs[t.index], ctx.cwd, ctx.env);
      d.start();
      dirs[t.index] = d;
    }
  }

  const writers = dirs.map((d) => new LogWriter(d, d.spec.size, d.startBytes));
  const lines = new LineSplitter(sc, writers);
  const rotateAll = (): void => {
    alarm = false;
    for (const w of writers) w.forceRotate();
  };
  const afterChunk = (): void => {
    for (const w of writers) w.sync();
    if (lines.alerts.length > 0) {
      try {
        writeAll(2, Buffer.concat(lines.alerts));
      } catch {
        /* stderr trouble is not multilog's */
      }
      lines.alerts = [];
    }
    for (let i = 0; i < lines.status.length; i++) {
      const b = lines.status[i];
      if (b === undefined) continue;
      try {
        writeSync(statusFds[i], b, 0, STATUSSIZE, 0);
      } catch {
        /* no protection for status files, as in the original */
      }
      lines.status[i] = undefined;
    }
  };

  const buf = Buffer.allocUnsafe(CHUNK);
  let lastNewline = true;
  let regular = false;
  try {
    regular = fstatSync(0).isFile();
  } catch {
    /* no stdin: the first read ends input */
  }
  // On a pipe, a chunk that ends inside a line is followed by a 1-byte read,
  // so a TERM arriving while we wait for the rest of the line finds at most
  // one byte taken, and the C program's "stop after this line" holds.
  let probe = false;
  let abandoned = false;
  try {
    for (;;) {
      if (alarm) rotateAll();
      if (term && lastNewline) break;
      probe = !term && !regular && !lastNewline && !probe;
      const pending = readStdin(buf, term || probe ? 1 : CHUNK);
      let n: number | undefined;
      void pending.then((v) => {
        n = v;
        wake?.();
      });
      // wait for the read, handling signals that arrive meanwhile
      while (n === undefined) {
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        if (n !== undefined) break;
        if (alarm) rotateAll();
        if (term && lastNewline) break;
      }
      if (n === undefined) {
        abandoned = true;
        break;
      }
      if (n <= 0) break;
      const t = now();
      lines.chunk(buf, n, sc.timestamp ? Buffer.from(format(t) + ' ', 'latin1') : buf);
      lastNewline = buf[n - 1] === 10;
      afterChunk();
    }
    lines.finish();
    afterChunk();
    for (const d of dirs) d.close();
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGALRM', onAlarm);
  }
  if (abandoned) exitNow();
  return 0;
}
