/**
 * pop3/transaction: the TRANSACTION and UPDATE states of a POP3 session
 * (RFC 1939 sections 5 and 6) as qmail-pop3d runs them, on any pair of
 * streams.
 *
 * Control flow: `+OK ` greets (the mailbox was scanned before), then one
 * command line at a time (command.ts) is dispatched through COMMANDS, a
 * table of verb -> handler; unknown verbs get `-ERR unimplemented`. The
 * session ends at QUIT (changes committed, `+OK `), at end of input or after
 * `idleSeconds` (default 1200, the original's 20 minutes) without a command:
 * then nothing is deleted or moved.
 *
 * Replies (qmail-pop3d's texts, byte for byte): `+OK ` (with its trailing
 * space), `+OK N SIZE` (STAT: N counts every message, deleted ones too, SIZE
 * only the undeleted: the original's arithmetic), `+OK N` (LAST: highest
 * message number deleted since the last RSET), LIST/UIDL lines `N SIZE` /
 * `N UID`, errors `-ERR syntax error`, `-ERR messages are counted from 1`,
 * `-ERR not that many messages`, `-ERR already deleted`, `-ERR unable to
 * open that message`, `-ERR unable to unlink all deleted messages`,
 * `-ERR unimplemented`. RETR n takes an optional second number like TOP (so
 * `RETR 1 0` sends the headers only, as the original's shared code does).
 *
 * Additions: CAPA (RFC 2449 section 5, which the original lacks) lists TOP,
 * UIDL and `IMPLEMENTATION qmail-ts`; PIPELINING is not offered (after
 * PASS qmail-popup hands the connection on, and bytes it read ahead would
 * be lost, as in the original). An overlong command line (command.ts MAX_LINE) gets
 * `-ERR line too long`.
 *
 * Messages are read with synchronous read(2) calls in 64 KiB chunks (a
 * local file: a thread-pool round trip per read cost a third of the RETR
 * throughput), converted by blast.ts and written with backpressure (the
 * write waits for 'drain', at most 1200 s); a reply goes out in one write
 * when it fits in 64 KiB (a separate small write for the terminator would
 * meet Nagle's algorithm and the client's delayed ACK: 40 ms per message);
 * a message that vanished since
 * the scan answers `-ERR unable to open that message` and the session goes
 * on. A write error or a closed connection ends the session (no commit).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { Blaster } from './blast.ts';
import { commit, uidOf, type Mailbox } from './mailbox.ts';
import type { LineReader } from './command.ts';

/** Seconds a write may wait for the client to read (qmail-pop3d's timeoutwrite). */
const WRITE_TIMEOUT = 1200;

/** Thrown when the client cannot be written to: the session ends quietly. */
class Gone extends Error {}

/** The output side of a session: buffered writes with backpressure. */
export class Out {
  private readonly w: Writable;
  private parts: Buffer[] = [];
  private size = 0;
  private broken = false;

  constructor(w: Writable) {
    this.w = w;
    w.on('error', () => {
      this.broken = true;
    });
  }

  /** Queue bytes (a string is latin1). */
  put(b: Buffer | string): void {
    const buf = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
    this.parts.push(buf);
    this.size += buf.length;
  }

  /** Bytes queued and not yet written. */
  pending(): number {
    return this.size;
  }

  /** Write everything queued; resolves once the stream accepted it (drained if needed). */
  async flush(): Promise<void> {
    if (this.broken || this.w.destroyed) throw new Gone();
    if (this.size === 0) return;
    const data = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    const more = this.w.write(data);
    if (!more) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.broken = true; // the original's timeoutwrite: 1200 s without progress ends the session
          done();
        }, WRITE_TIMEOUT * 1000);
        const done = (): void => {
          clearTimeout(timer);
          this.w.off('drain', done);
          this.w.off('close', done);
          this.w.off('error', done);
          resolve();
        };
        this.w.on('drain', done);
        this.w.on('close', done);
        this.w.on('error', done);
      });
      if (this.broken || this.w.destroyed) throw new Gone();
    }
  }

  /** Wait until everything written so far reached the kernel (or the stream failed). */
  settle(): Promise<void> {
    return new Promise((resolve) => {
      if (this.broken || this.w.destroyed) return resolve();
      this.w.write('', () => resolve());
    });
  }
}

/** Per-session state. */
interface State {
  box: Mailbox;
  out: Out;
  last: number;
  quit: boolean;
}

function err(s: State, text: string): void {
  s.out.put(`-ERR ${text}\r\n`);
}

function okay(s: State): void {
  s.out.put('+OK \r\n');
}

/** Leading decimal digits of s as scan_ulong reads them: [value, digits]. */
function scanUlong(s: string): [number, number] {
  let i = 0;
  let v = 0;
  while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) {
    v = v * 10 + (s.charCodeAt(i) - 48);
    i++;
  }
  return [v, i];
}

/** The message index for arg, or -1 after writing the error (qmail-pop3d's msgno). */
function msgno(s: State, arg: string): number {
  const [u, n] = scanUlong(arg);
  if (n === 0) {
    err(s, 'syntax error');
    return -1;
  }
  if (u === 0) {
    err(s, 'messages are counted from 1');
    return -1;
  }
  if (u - 1 >= s.box.messages.length) {
    err(s, 'not that many messages');
    return -1;
  }
  if (s.box.messages[u - 1].deleted) {
    err(s, 'already deleted');
    return -1;
  }
  return u - 1;
}

function stat(s: State): void {
  let total = 0;
  for (const m of s.box.messages) if (!m.deleted) total += m.size;
  s.out.put(`+OK ${s.box.messages.length} ${total}\r\n`);
}

function listing(s: State, arg: string, uidl: boolean): void {
  const line = (i: number): string => `${i + 1} ${uidl ? uidOf(s.box.messages[i]) : s.box.messages[i].size}\r\n`;
  if (arg !== '') {
    const i = msgno(s, arg);
    if (i >= 0) s.out.put(`+OK ${line(i)}`);
    return;
  }
  okay(s);
  const lines: string[] = [];
  s.box.messages.forEach((m, i) => {
    if (!m.deleted) lines.push(line(i));
  });
  s.out.put(lines.join('') + '.\r\n');
}

function dele(s: State, arg: string): void {
  const i = msgno(s, arg);
  if (i < 0) return;
  s.box.messages[i].deleted = true;
  if (i + 1 > s.last) s.last = i + 1;
  okay(s);
}

function rset(s: State): void {
  for (const m of s.box.messages) m.deleted = false;
  s.last = 0;
  okay(s);
}

function capa(s: State): void {
  s.out.put('+OK capability list follows\r\nTOP\r\nUIDL\r\nIMPLEMENTATION qmail-ts\r\n.\r\n');
}


/** RETR and TOP (see the module comment). */
async function top(s: State, arg: string): Promise<void> {
  const i = msgno(s, arg);
  if (i < 0) return;
  let rest = arg.slice(scanUlong(arg)[1]);
  while (rest.startsWith(' ')) rest = rest.slice(1);
  const [n, digits] = scanUlong(rest);
  const limit = digits > 0 ? n + 1 : 0;
  let fd: number;
  try {
    fd = openSync(`${s.box.dir}/${s.box.messages[i].fn}`, 'r');
  } catch {
    err(s, 'unable to open that message');
    return;
  }
  try {
    okay(s);
    const b = new Blaster(limit);
    for (;;) {
      const buf = Buffer.allocUnsafe(65536); // fresh: the stream may hold the last one
      let got: number;
      try {
        got = readSync(fd, buf, 0, buf.length, null);
      } catch {
        break; // the original's getln error: the session ends
      }
      if (got === 0) break;
      s.out.put(b.push(buf.subarray(0, got)));
      if (b.done) break;
      if (s.out.pending() >= 65536) await s.out.flush();
    }
    s.out.put(b.end());
  } finally {
    closeSync(fd);
  }
}

function quit(s: State): void {
  if (!commit(s.box)) err(s, 'unable to unlink all deleted messages');
  okay(s);
  s.quit = true;
}

type Handler = (s: State, arg: string) => void | Promise<void>;

/** The command table (verbs lower-case). */
const COMMANDS: Record<string, Handler> = {
  quit,
  stat,
  list: (s, a) => listing(s, a, false),
  uidl: (s, a) => listing(s, a, true),
  dele,
  retr: top,
  rset,
  last: (s) => s.out.put(`+OK ${s.last}\r\n`),
  top,
  noop: okay,
  capa,
};

/**
 * Run the session on an already scanned mailbox: greet, serve commands from
 * lines, write replies to w. Resolves when the session is over (QUIT, end of
 * input, idle timeout or a broken connection) after the output was handed
 * to the kernel.
 */
export async function serveTransaction(box: Mailbox, lines: LineReader, w: Writable): Promise<void> {
  const s: State = { box, out: new Out(w), last: 0, quit: false };
  try {
    okay(s);
    await s.out.flush();
    while (!s.quit) {
      const c = await lines.next();
      if (c === null) break;
      if (c.overlong) err(s, 'line too long');
      else {
        const h = Object.hasOwn(COMMANDS, c.verb.toLowerCase()) ? COMMANDS[c.verb.toLowerCase()] : undefined;
        if (h) await h(s, c.arg);
        else err(s, 'unimplemented');
      }
      await s.out.flush();
    }
    await s.out.settle();
  } catch (e) {
    if (!(e instanceof Gone)) throw e;
  } finally {
    lines.close();
  }
}
