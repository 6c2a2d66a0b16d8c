/**
 * pop3/mailbox: a maildir as qmail-pop3d sees it for one session (maildir(5);
 * qmail's maildir_clean/maildir_scan as qmail-pop3d(8) uses them).
 *
 * openMailbox(dir):
 *  1. tmp/ cleanup: files in tmp/ whose access time is more than 36 hours
 *     (129600 s) old are removed (names starting with `.` are skipped; errors
 *     ignored).
 *  2. Scan new/ then cur/ (names starting with `.` skipped). A file is listed
 *     only when stat() works and its mtime is before the current second, so
 *     a message arriving during the scan cannot reorder the list. Order:
 *     mtime ascending, then name (the original's heap leaves ties in an
 *     unspecified order; ours is deterministic).
 *  3. Each message's size is its file size in bytes (what LIST and STAT
 *     report, as the original: bytes on disk, LF line ends).
 *  An unreadable new/ or cur/ throws ScanError (qmail-pop3d answers
 *  `-ERR unable to scan $HOME/Maildir`).
 *
 * commit(box): what QUIT does: every message marked deleted is unlinked
 * (ENOENT counts as done: the message is gone, as the client asked; any
 * other failure is reported by returning false); every other message still
 * in new/ is renamed to cur/NAME:2, (failure ignored, as the original).
 * A session that ends without QUIT never calls it: nothing is deleted or
 * moved.
 *
 * Message names are relative to the maildir (`new/NAME`, `cur/NAME:2,S`);
 * the session's cwd is never changed (several sessions may share a process).
 */
import { readdirSync, renameSync, statSync, unlinkSync } from 'node:fs';

/** One message of the session's list. */
export interface Message {
  /** `new/NAME` or `cur/NAME` relative to the maildir */
  fn: string;
  /** bytes on disk (0 if it vanished before stat) */
  size: number;
  deleted: boolean;
}

/** A scanned maildir. */
export interface Mailbox {
  /** the maildir's path (absolute, or relative to the process's cwd) */
  dir: string;
  messages: Message[];
}

/** Scanning new/ or cur/ failed. */
export class ScanError extends Error {}

/** Remove tmp/ files older than 36 hours (by atime), as maildir_clean does. */
export function cleanTmp(dir: string, nowSec = Math.floor(Date.now() / 1000)): void {
  let names: string[];
  try {
    names = readdirSync(`${dir}/tmp`);
  } catch {
    return;
  }
  for (const n of names) {
    if (n.startsWith('.')) continue;
    try {
      const st = statSync(`${dir}/tmp/${n}`);
      if (nowSec > Math.floor(st.atimeMs / 1000) + 129600) unlinkSync(`${dir}/tmp/${n}`);
    } catch {
      /* gone or not ours */
    }
  }
}

interface Found {
  fn: string;
  mtime: number;
  size: number;
}

function scanSub(dir: string, sub: 'new' | 'cur', nowSec: number, out: Found[]): void {
  let names: string[];
  try {
    names = readdirSync(`${dir}/${sub}`);
  } catch (e) {
    throw new ScanError(`unable to scan ${sub}: ${(e as Error).message}`);
  }
  for (const n of names) {
    if (n.startsWith('.')) continue;
    const fn = `${sub}/${n}`;
    let st;
    try {
      st = statSync(`${dir}/${fn}`);
    } catch {
      continue;
    }
    const mtime = Math.floor(st.mtimeMs / 1000);
    if (mtime < nowSec) out.push({ fn, mtime, size: st.size });
  }
}

/** Scan the maildir dir (see the module comment). Throws ScanError. */
export function openMailbox(dir: string, nowSec = Math.floor(Date.now() / 1000)): Mailbox {
  cleanTmp(dir, nowSec);
  const found: Found[] = [];
  scanSub(dir, 'new', nowSec, found);
  scanSub(dir, 'cur', nowSec, found);
  found.sort((a, b) => a.mtime - b.mtime || (a.fn < b.fn ? -1 : a.fn > b.fn ? 1 : 0));
  return { dir, messages: found.map((f) => ({ fn: f.fn, size: f.size, deleted: false })) };
}

/** The UIDL of a message: its name without `new/`/`cur/` and without the `:info` part. */
export function uidOf(m: Message): string {
  const base = m.fn.slice(4);
  const c = base.indexOf(':');
  return c < 0 ? base : base.slice(0, c);
}

/** Apply the session's changes at QUIT; false when some deleted message could not be unlinked. */
export function commit(box: Mailbox): boolean {
  let ok = true;
  for (const m of box.messages) {
    if (m.deleted) {
      try {
        unlinkSync(`${box.dir}/${m.fn}`);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') ok = false;
      }
    } else if (m.fn.startsWith('new/')) {
      try {
        renameSync(`${box.dir}/${m.fn}`, `${box.dir}/cur/${m.fn.slice(4)}:2,`);
      } catch {
        /* if it fails, bummer (the original's words) */
      }
    }
  }
  return ok;
}
