/**
 * queue/layout: names in qmail's queue directory, QMAILHOME/queue
 * (INTERNALS sections 2-3, LWQ appendix D.3). The on-disk format we promise
 * to keep, byte-compatible with qmail 1.03 so C tools and ours can share it:
 *
 *   pid/PID.TIME.SEQ   qmail-queue's scratch file, created to obtain an inode
 *   mess/S/N           the message: qmail-queue's Received line + the bytes read
 *   intd/N             the envelope under construction: `u<uid>\0p<pid>\0F<sender>\0`
 *                      then `T<recipient>\0` per recipient (no final extra \0)
 *   todo/N             a hard link to intd/N: the message is queued
 *   info/S/N, local/S/N, remote/S/N, bounce/N   qmail-send's (preprocessed) state
 *   lock/trigger       FIFO qmail-queue writes a byte to; lock/sendmutex, lock/tcpto
 *
 * N is the inode number of mess/S/N (the "guarantee" of INTERNALS), S = N mod
 * split. split is qmail's compile-time conf-split (23 by default, a prime);
 * here it is a property of the queue on disk: the number of mess/ subdirectories
 * (queueSplit), so one build serves queues made with any split.
 */
import { accessSync, constants, opendirSync, readdirSync } from 'node:fs';

/** conf-split's default. */
export const DEFAULT_SPLIT = 23;

/** Directories with split subdirectories 0..split-1. */
export const SPLIT_DIRS = ['mess', 'info', 'local', 'remote'] as const;

/** Every top-level directory of the queue. */
export const QUEUE_DIRS = ['pid', 'mess', 'intd', 'todo', 'info', 'local', 'remote', 'bounce', 'lock'] as const;

export type QueueDir = (typeof QUEUE_DIRS)[number];

/** QMAILHOME/queue. */
export function queueDir(home: string): string {
  return `${home}/queue`;
}

/**
 * A queue file name relative to the queue (fmtqfn): `dir/N`, or `dir/S/N`
 * with S = N mod split for the split directories (mess, info, local, remote).
 */
export function qfn(dir: QueueDir, id: number, split: number): string {
  return (SPLIT_DIRS as readonly string[]).includes(dir) ? `${dir}/${id % split}/${id}` : `${dir}/${id}`;
}

const splitCache = new Map<string, number>();

/**
 * The queue's split: how many subdirectories 0, 1, ... mess/ has (counted
 * once per queue path and cached); DEFAULT_SPLIT when mess/ cannot be read
 * or has none (the caller's later link/open then fails with its own code).
 */
export function queueSplit(queue: string): number {
  const c = splitCache.get(queue);
  if (c !== undefined) return c;
  let names: string[];
  try {
    names = readdirSync(`${queue}/mess`);
  } catch {
    return DEFAULT_SPLIT;
  }
  const set = new Set(names);
  let n = 0;
  while (set.has(String(n))) n++;
  if (n === 0) return DEFAULT_SPLIT;
  splitCache.set(queue, n);
  return n;
}

/** True when this process may add and remove names in each of `dirs` (relative to queue): each is writable and searchable for it. */
export function dirsWritable(queue: string, dirs: readonly string[]): boolean {
  try {
    for (const d of dirs) accessSync(`${queue}/${d}`, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A file name that is a queue id: decimal digits only (readsubdir/scan_ulong). */
export function parseId(name: string): number | undefined {
  return /^[0-9]+$/.test(name) ? Number(name) : undefined;
}

/**
 * Entry names of a directory in readdir(3) order (not sorted), as the C
 * tools see them; `.`/`..` are never returned. Throws on open errors.
 */
export function readdirRaw(path: string): string[] {
  const d = opendirSync(path);
  const out: string[] = [];
  try {
    for (let e = d.readSync(); e !== null; e = d.readSync()) out.push(e.name);
  } finally {
    d.closeSync();
  }
  return out;
}

/**
 * The ids in one split subdirectory DIR/S, in readdir order (readsubdir.c:
 * names that are not decimal numbers are skipped). Throws on open errors.
 */
export function readSubdir(queue: string, dir: 'mess' | 'info' | 'local' | 'remote', s: number): number[] {
  const ids: number[] = [];
  for (const n of readdirRaw(`${queue}/${dir}/${s}`)) {
    const id = parseId(n);
    if (id !== undefined) ids.push(id);
  }
  return ids;
}
