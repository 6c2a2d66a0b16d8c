/**
 * deliver/mbox: append one message to an mbox file (mbox(5); the steps of
 * qmail-local's mbox delivery), the primitive qmail-local uses for
 * `./Mailbox` / `/path` lines.
 *
 *  1. Open the file O_WRONLY|O_APPEND|O_CREAT|O_NONBLOCK, mode 0600 (less the
 *     umask): failure -> "Unable to open FN: reason. (#4.2.1)".
 *  2. flock(LOCK_EX), waiting at most 30 seconds: still locked ->
 *     "File has been locked for 30 seconds straight. (#4.3.0)". (qmail uses a
 *     blocking lock under alarm(30); here the lock is retried non-blocking
 *     every 50 ms so a server's event loop keeps running.) A lock that fails
 *     for another reason (ENOLCK...) is carried on without, as qmail does.
 *  3. Remember the end of file, then write the From_ line
 *     `From SENDER Www Mon DD HH:MM:SS YYYY\n` (fromLine()), the caller's
 *     `prefix` (Return-Path, Delivered-To), the message with >From quoting
 *     (a line that, after any number of `>`, starts with `From ` gets one more
 *     `>`), a `\n` if the message ended in a partial line, and the final
 *     blank line `\n`; fsync.
 *  4. Any read error ("Unable to read message: reason. (#4.3.0)") or write
 *     error ("Unable to write FN: reason. (#4.3.0)") truncates the file back
 *     to where it was (only when locked: without the lock someone else may
 *     have appended) so no partial message is left.
 *
 * Every failure is temporary (qmail-local exits 111 with the text).
 */
import { closeSync, constants, fstatSync, ftruncateSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { errCode, errstr } from '../errstr.ts';
import { writeAll } from '../strerr.ts';
import { fsyncGrouped } from '../fsyncfd.ts';
import { LOCK_EX, LOCK_NB, sys } from '../native.ts';
import { myctime } from '../qmaildate.ts';
import { drainSource, type ByteSource } from '../queue/source.ts';
import type { DeliveryResult } from './maildir.ts';

/** Options of mboxDeliver. */
export interface MboxOptions {
  /** the envelope sender for the From_ line ('' for a bounce: MAILER-DAEMON) */
  sender: string | Uint8Array;
  /** lines to put before the message, e.g. `Return-Path: <s>\nDelivered-To: r\n` */
  prefix?: Uint8Array;
  /** delivery time in seconds since the epoch (default: now) */
  now?: number;
  /** how long to wait for the lock, ms (default 30000, qmail's alarm(30)) */
  lockWait?: number;
}

/**
 * The From_ line (with its `\n`): `From SENDER DATE`, SENDER with spaces,
 * tabs and newlines replaced by `-`, MAILER-DAEMON when empty; DATE myctime().
 */
export function fromLine(sender: string | Uint8Array, t: number): Buffer {
  const s = typeof sender === 'string' ? Buffer.from(sender, 'utf8') : Buffer.from(sender);
  for (let i = 0; i < s.length; i++) if (s[i] === 0x20 || s[i] === 0x09 || s[i] === 0x0a) s[i] = 0x2d;
  return Buffer.concat([Buffer.from('From '), s.length ? s : Buffer.from('MAILER-DAEMON'), Buffer.from(` ${myctime(t)}\n`)]);
}

/** True when line needs >From quoting (gfrom.c): `>`* then `From `. */
export function isFromLine(line: Uint8Array): boolean {
  let i = 0;
  while (i < line.length && line[i] === 0x3e) i++;
  return line.length - i >= 5 && line[i] === 0x46 && line[i + 1] === 0x72 && line[i + 2] === 0x6f && line[i + 3] === 0x6d && line[i + 4] === 0x20;
}

/** Copies message bytes into mbox form: >From quoting, final partial line ended, blank line. */
class MboxWriter {
  private out: Buffer[] = [];
  private size = 0;
  private partial: Buffer[] = [];
  private readonly fd: number;
  constructor(fd: number) {
    this.fd = fd;
  }

  private emit(b: Uint8Array): void {
    this.out.push(Buffer.from(b.buffer, b.byteOffset, b.length));
    this.size += b.length;
    if (this.size >= 65536) this.flush();
  }

  flush(): void {
    if (this.size === 0) return;
    writeAll(this.fd, this.out.length === 1 ? this.out[0] : Buffer.concat(this.out, this.size));
    this.out = [];
    this.size = 0;
  }

  raw(b: Uint8Array): void {
    this.emit(b);
  }

  /** Message bytes, any chunking (written out before returning: the caller may reuse chunk). */
  message(chunk: Uint8Array): void {
    let s = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, s);
      if (nl < 0) break;
      let line: Uint8Array = chunk.subarray(s, nl + 1);
      if (this.partial.length) {
        line = Buffer.concat([...this.partial, line]);
        this.partial = [];
      }
      if (isFromLine(line)) this.emit(Buffer.from('>'));
      this.emit(line);
      s = nl + 1;
    }
    if (s < chunk.length) this.partial.push(Buffer.from(chunk.subarray(s)));
    this.flush();
  }

  /** End of message: the last partial line + `\n`, then the blank line. */
  end(): void {
    if (this.partial.length) {
      const line = Buffer.concat(this.partial);
      this.partial = [];
      if (isFromLine(line)) this.emit(Buffer.from('>'));
      this.emit(line);
      this.emit(Buffer.from('\n'));
    }
    this.emit(Buffer.from('\n'));
    this.flush();
  }
}


/**
 * Append `message` (bytes, or a ByteSource read to its end) to the mbox
 * file `fn`. Resolves to { ok: true } or { ok: false, text }; never throws
 * for I/O. `fn` in the texts is shown as given.
 */
export async function mboxDeliver(fn: string, message: Uint8Array | ByteSource, opts: MboxOptions): Promise<DeliveryResult> {
  let fd: number;
  try {
    fd = openSync(fn, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK, 0o600);
  } catch (e) {
    return { ok: false, text: `Unable to open ${fn}: ${errstr(e)}. (#4.2.1)` };
  }
  try {
    let locked = false;
    const deadline = Date.now() + (opts.lockWait ?? 30000);
    for (;;) {
      try {
        sys.flock(fd, LOCK_EX | LOCK_NB);
        locked = true;
        break;
      } catch (e) {
        const c = errCode(e);
        if (c !== 'EWOULDBLOCK' && c !== 'EAGAIN' && c !== 'EINTR') break;
        if (Date.now() >= deadline) return { ok: false, text: 'File has been locked for 30 seconds straight. (#4.3.0)' };
        await sleep(50);
      }
    }
    let pos = 0;
    try {
      pos = fstatSync(fd).size;
    } catch {
      /* seek_end's result is not checked by qmail either */
    }
    const undo = (text: string): DeliveryResult => {
      if (locked) {
        try {
          ftruncateSync(fd, pos);
        } catch {
          /* nothing more to do */
        }
      }
      return { ok: false, text };
    };
    const w = new MboxWriter(fd);
    try {
      w.raw(fromLine(opts.sender, Math.floor(opts.now ?? Date.now() / 1000)));
      if (opts.prefix) w.raw(opts.prefix);
      if (message instanceof Uint8Array) w.message(message);
      else {
        const r = await drainSource(message, (b) => w.message(b));
        if (r) return undo(`Unable to read message: ${errstr(r.readError)}. (#4.3.0)`);
      }
      w.end();
      const e = await fsyncGrouped(fd);
      if (e) throw e;
    } catch (e) {
      return undo(`Unable to write ${fn}: ${errstr(e)}. (#4.3.0)`);
    }
    return { ok: true };
  } finally {
    try {
      closeSync(fd);
    } catch {
      /* close releases the lock either way */
    }
  }
}
