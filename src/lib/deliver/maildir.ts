/**
 * deliver/maildir: deliver one message into a maildir (maildir(5); the
 * steps of qmail-local's maildir delivery), the primitive qmail-local uses
 * for `./Maildir/` lines.
 *
 *  1. The maildir must be a searchable directory ("chdir"): a temporary errno
 *     (error_temp) -> "Temporary error on maildir delivery. (#4.3.0)", any
 *     other -> "Unable to chdir to maildir. (#4.2.1)".
 *  2. Create tmp/TIME.UNIQ.HOST exclusively (mode 0644 less the umask). TIME
 *     is seconds since the epoch, HOST the host name (first 64 bytes, as
 *     gethostname into qmail-local's 64-byte buffer), UNIQ the pid for a
 *     process's first delivery (byte-identical to qmail-local, which forks a
 *     child per delivery) and PID_N for its Nth further one, so a long-lived
 *     process never reuses a name. On EEXIST sleep 2 s and try again with a
 *     new TIME, 3 attempts in all.
 *  3. Write `prefix` (the caller's Return-Path and Delivered-To lines) and the
 *     message, unchanged (no From_ line, no >From quoting), close, all
 *     checked ("NFS-writing").
 *  4. link tmp/NAME to new/NAME: at that instant the message is delivered;
 *     then fsync new/, so that the name is on disk before the delivery is
 *     reported done (and qmail-send removes the message from the queue):
 *     qmail-local stops at the link, which BSD's synchronous directory
 *     updates made durable, but on Linux the link is a change to new/'s
 *     block in memory, written back up to half a minute later on ext2 or
 *     ext4 without a journal; concurrent deliveries into one maildir share
 *     one fsync per event-loop turn (fsyncfd.ts fsyncDir). Should that
 *     fsync fail (or the 24-hour timer fire meanwhile), new/NAME is
 *     unlinked again and the delivery fails (a duplicate at worst, never a
 *     lost message). Then unlink tmp/NAME. Any failure unlinks tmp/NAME.
 *     When no other delivery of this process is past its write, step 3's
 *     fsync and step 4 (the link, new/'s fsync, tmp/NAME's unlink) run as
 *     one pool job (fsyncfd.ts syncThenLink) and the descriptor is closed
 *     after it, its status still counting: one trip through the pool and
 *     the event loop instead of two, where there is no group to share.
 *
 * Every failure is temporary (qmail-local exits 111 with the text); message
 * read errors say "Unable to read message. (#4.3.0)".
 *
 * The 24-hour timer (maildir(5): "a delivery that has not completed in 24
 * hours is dead"; qmail-local's alarm(86400) from the create of tmp/NAME
 * on): when steps 3-4 have not finished by then (a message source or a
 * disk that never answers), tmp/NAME is unlinked, the descriptor closed
 * (after an fsync in progress returns, never under it) and the delivery
 * fails with "Timeout on maildir delivery. (#4.3.0)"; whatever the stalled
 * step does afterwards is ignored (no write, no link into new/).
 */
import { closeSync, constants, linkSync, openSync, statSync, unlinkSync, accessSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { errCode } from '../errstr.ts';
import { writeAll } from '../strerr.ts';
import { fsyncDir, fsyncGrouped, syncThenLink } from '../fsyncfd.ts';
import { drainSource, type ByteSource } from '../queue/source.ts';
import { isTempErrno } from './errtemp.ts';

/** A delivery's outcome: ok, or a temporary failure with qmail-local's text. */
export type DeliveryResult = { ok: true; file?: string } | { ok: false; text: string };

/** Options of maildirDeliver. */
export interface MaildirOptions {
  /** lines to put before the message, e.g. `Return-Path: <s>\nDelivered-To: r\n` */
  prefix?: Uint8Array;
  /** host name part of the file name (default: os.hostname(), first 64 bytes) */
  host?: string;
  /** time source in seconds (tests); default Date.now()/1000 */
  now?: () => number;
  /** the delivery timer in ms (tests); default MAILDIR_TIMEOUT_MS, qmail-local's 86400 s */
  timeoutMs?: number;
}

/** qmail-local's alarm(86400) on a maildir delivery, in ms. */
export const MAILDIR_TIMEOUT_MS = 86400 * 1000;

let deliveries = 0;
/** Deliveries of this process now past their write and not yet done (see oneJob). */
let syncingNow = 0;

/** The unique part for this process's next delivery: PID, then PID_1, PID_2, ... */
function nextUniq(): string {
  const n = deliveries++;
  return n === 0 ? String(process.pid) : `${process.pid}_${n}`;
}

/** The host name as qmail-local puts it in maildir names (at most 64 bytes). */
export function maildirHost(): string {
  return Buffer.from(hostname()).subarray(0, 64).toString('latin1');
}


const TEMP = 'Temporary error on maildir delivery. (#4.3.0)';
const TIMEOUT = 'Timeout on maildir delivery. (#4.3.0)';

/**
 * Deliver `message` (bytes, or a ByteSource read to its end) into the
 * maildir `dir` (absolute, or relative to the process's cwd). Resolves to
 * { ok: true, file: 'new/NAME' } or { ok: false, text }; never throws for I/O.
 */
export async function maildirDeliver(dir: string, message: Uint8Array | ByteSource, opts: MaildirOptions = {}): Promise<DeliveryResult> {
  try {
    if (!statSync(dir).isDirectory()) return { ok: false, text: 'Unable to chdir to maildir. (#4.2.1)' };
    accessSync(dir, constants.X_OK);
  } catch (e) {
    return { ok: false, text: isTempErrno(errCode(e)) ? TEMP : 'Unable to chdir to maildir. (#4.2.1)' };
  }
  const host = opts.host ?? maildirHost();
  const now = opts.now ?? (() => Date.now() / 1000);
  const uniq = nextUniq();
  let name = '';
  let fd = -1;
  for (let loop = 0; ; loop++) {
    name = `${Math.floor(now())}.${uniq}.${host}`;
    try {
      fd = openSync(`${dir}/tmp/${name}`, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
      break;
    } catch (e) {
      if (errCode(e) !== 'EEXIST' || loop === 2) return { ok: false, text: TEMP };
      await sleep(2000);
    }
  }
  const tmp = `${dir}/tmp/${name}`;
  let timedOut = false;
  let fdOpen = true;
  let syncing = false;
  /** Close fd once; false when that close(2) failed (NFS dorks: its status counts where the delivery can still fail). */
  const closeFd = (): boolean => {
    if (!fdOpen) return true;
    fdOpen = false;
    try {
      closeSync(fd);
      return true;
    } catch {
      return false;
    }
  };
  const fail = (text = TEMP): DeliveryResult => {
    try {
      unlinkSync(tmp);
    } catch {
      /* tryunlinktmp */
    }
    return { ok: false, text };
  };
  const dead: DeliveryResult = { ok: false, text: TIMEOUT };

  /** Undo the link into new/ (its fsync failed, or the timer fired meanwhile) and fail. */
  const unlinkNew = (): DeliveryResult => {
    try {
      unlinkSync(`${dir}/new/${name}`);
    } catch {
      /* a reader took it already: delivered, maybe twice after the retry */
    }
    return timedOut ? dead : fail();
  };

  /**
   * Step 4 with the fsync before it as one pool job (fsyncfd.ts
   * syncThenLink): tmp/NAME's fsync, the link, new/'s fsync and tmp/NAME's
   * unlink, each only once the one before succeeded; then the close, whose
   * status still counts. Used when no other delivery of this process is
   * at that step, so there is no group to share new/'s fsync with: one
   * trip through the pool and the event loop instead of two.
   */
  const oneJob = async (): Promise<DeliveryResult> => {
    syncing = true;
    const r = await syncThenLink([fd], { from: tmp, to: `${dir}/new/${name}`, dir: `${dir}/new`, unlink: [tmp] });
    syncing = false;
    const closed = closeFd();
    if (r.fsync[0] || r.link) return timedOut ? dead : fail();
    if (r.dir || timedOut || !closed) return unlinkNew();
    return { ok: true, file: `new/${name}` };
  };

  /** Step 4 with the fsync before it, through fsyncfd.ts's groups (other deliveries of this process are at it too). */
  const grouped = async (): Promise<DeliveryResult> => {
    try {
      syncing = true;
      const e = await fsyncGrouped(fd);
      if (e) throw e;
      syncing = false;
      if (timedOut) return dead;
      if (!closeFd()) return fail();
    } catch {
      return timedOut ? dead : fail();
    } finally {
      syncing = false;
      closeFd();
    }
    try {
      linkSync(tmp, `${dir}/new/${name}`);
    } catch {
      return fail();
    }
    if ((await fsyncDir(`${dir}/new`)) !== null || timedOut) return unlinkNew();
    try {
      unlinkSync(tmp);
    } catch {
      /* delivered; tmp/ cleanup is the reader's (36 hours) */
    }
    return { ok: true, file: `new/${name}` };
  };

  /** Steps 3 and 4; after the timer has fired, every step is skipped. */
  const finish = async (): Promise<DeliveryResult> => {
    try {
      if (message instanceof Uint8Array) {
        writeAll(fd, opts.prefix && opts.prefix.length > 0 ? Buffer.concat([opts.prefix, message]) : message);
      } else {
        if (opts.prefix) writeAll(fd, opts.prefix);
        const put = (b: Uint8Array): void => {
          if (timedOut) throw new Error('maildir delivery timed out');
          writeAll(fd, b);
        };
        if (await drainSource(message, put)) {
          closeFd();
          return fail('Unable to read message. (#4.3.0)');
        }
      }
    } catch {
      closeFd();
      return timedOut ? dead : fail();
    }
    if (timedOut) return dead; // the timer closed fd
    syncingNow++;
    try {
      return syncingNow === 1 ? await oneJob() : await grouped();
    } finally {
      syncingNow--;
    }
  };

  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<DeliveryResult>((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      fail();
      if (!syncing) closeFd();
      resolve(dead);
    }, opts.timeoutMs ?? MAILDIR_TIMEOUT_MS);
  });
  try {
    return await Promise.race([finish(), expired]);
  } finally {
    clearTimeout(timer);
  }
}
