/**
 * send/clean: the qmail-clean side of its conversation with qmail-send
 * (qmail-clean(8); INTERNALS "qmail-clean"), and the pid/ sweep.
 *
 * Requests are NUL-terminated queue file names read on fd 0; each gets one
 * response byte on fd 1, in order:
 *   `foop/N\0`  unlink intd/N and mess/S/N (the message is finished) -> `+`
 *   `todo/N\0`  unlink intd/N and todo/N (preprocessing is done)      -> `+`
 *   `!` when an unlink failed other than with ENOENT; `x` for anything
 *   else (shorter than 7 or longer than 100 bytes with its NUL, other
 *   prefixes, non-digits after the prefix).
 * The order of the unlinks is INTERNALS': intd before mess/todo, so a crash
 * in between leaves a state qmail-send's startup and cleanup understand.
 *
 * cleanRequest() does both unlinks in one pool job: on a `discard`
 * mount the freed block is discarded before unlink returns, 66 us on a
 * quiet disk but several hundred under load, which must not stall
 * qmail-clean's other requests (or qmail-send, doing qmail-clean's job
 * itself, where cleanAfter() also puts the fsyncs and unlinks that must
 * come first into the same job).
 *
 * cleanupPid(): qmail-clean also removes pid/ files whose atime is more than
 * OSSIFIED (36 hours) ago, qmail-queue crumbs; it does so at start and then
 * on every 31st step (pidSweeper: qmail-clean.c's loop counter).
 */
import { opendirSync, statSync, unlinkSync } from 'node:fs';
import { syncThenUnlink, type Errs } from '../fsyncfd.ts';
import { dirsWritable, qfn } from '../queue/layout.ts';

/** 36 hours in seconds; must exceed qmail-queue's 24-hour DEATH. */
export const OSSIFIED = 129600;

/** The files a valid request removes, in order; undefined for a bad request (`x`). */
function requestFiles(req: string, split: number): [string, string] | undefined {
  const len = req.length + 1;
  if (len < 7 || len > 100) return undefined;
  const digits = req.slice(5);
  if (!/^[0-9]+$/.test(digits)) return undefined;
  const id = Number(digits);
  if (req.startsWith('foop/')) return [qfn('intd', id, split), qfn('mess', id, split)];
  if (req.startsWith('todo/')) return [qfn('intd', id, split), qfn('todo', id, split)];
  return undefined;
}

/** Null or ENOENT: the name is gone, as wanted. */
export function gone(e: NodeJS.ErrnoException | null | undefined): boolean {
  return !e || e.code === 'ENOENT';
}

/**
 * What cleanAfter() did: each fsync's and each earlier unlink's error (null
 * when done; ENOENT for a name already gone), and the request's answer:
 * `+`, `!`, `x`, or '' when it was not tried because one of those failed
 * (or there was no request).
 */
export interface CleanOutcome {
  fsync: Errs;
  before: Errs;
  answer: '+' | '!' | 'x' | '';
}

/**
 * fsync fds, unlink the paths in `before` in order, then handle request
 * `req` (without its NUL; none when undefined), all in ONE pool job
 * (fsyncfd.ts syncThenUnlink): each step only once the ones before it
 * succeeded, so the order on disk is INTERNALS' (info/local/remote fsynced
 * before todo/N goes; a channel file, then info/N, then intd/N and mess/N
 * when a message is done; intd/N before todo/N or mess/N). The unlinks that
 * free files wait for the device's discard on a `discard` mount (66 us on
 * a quiet disk, several hundred under load), which must not stall the
 * caller's other work, and a pool round trip costs about 26 us of CPU here:
 * one job per queue step instead of one per file. 0 to 8 fds; `before` up
 * to 6 paths.
 */
export async function cleanAfter(queue: string, req: string | undefined, split: number, fds: number[] = [], before: string[] = []): Promise<CleanOutcome> {
  const files = req === undefined ? [] : (requestFiles(req, split) ?? []);
  const paths = [...before, ...files.map((f) => `${queue}/${f}`)];
  if (fds.length + paths.length === 0) return { fsync: [], before: [], answer: req === undefined ? '' : 'x' };
  const [fsync, un] = await syncThenUnlink(fds, paths);
  const b = un.slice(0, before.length);
  let answer: CleanOutcome['answer'] = '';
  if (req !== undefined && !fsync.some((e) => e) && b.every(gone)) answer = files.length === 0 ? 'x' : un.slice(before.length).every(gone) ? '+' : '!';
  return { fsync, before: b, answer };
}

/**
 * Handle one qmail-clean request (without its NUL); resolves to the
 * response byte. Both unlinks, intd/N first, run in one pool job
 * (cleanAfter).
 */
export async function cleanRequest(queue: string, req: string, split: number): Promise<'+' | '!' | 'x'> {
  return (await cleanAfter(queue, req, split)).answer || '!';
}

/**
 * True when this process may do qmail-clean's unlinks itself: intd/, todo/
 * and every mess/S are writable and searchable for it (the embedded setup,
 * where one user owns the whole queue; never on a system install, where
 * they are qmailq's and qmail-send runs as qmails).
 */
export function canClean(queue: string, split: number): boolean {
  return dirsWritable(queue, ['intd', 'todo', 'mess', ...Array.from({ length: split }, (_, i) => `mess/${i}`)]);
}

/**
 * qmail-clean's pid/ sweep schedule: the step function sweeps (cleanupPid)
 * on its first call and then on every 31st, as qmail-clean.c's cleanuploop
 * (call it once at start and once per request).
 */
export function pidSweeper(queue: string): () => void {
  let loop = 0;
  return () => {
    if (loop > 0) loop--;
    else {
      cleanupPid(queue, Date.now() / 1000);
      loop = 30;
    }
  };
}

/** Remove pid/ entries last accessed more than OSSIFIED seconds before `now` (seconds). Errors are ignored. */
export function cleanupPid(queue: string, now: number): void {
  let dir;
  try {
    dir = opendirSync(`${queue}/pid`);
  } catch {
    return;
  }
  try {
    for (let e = dir.readSync(); e !== null; e = dir.readSync()) {
      const p = `${queue}/pid/${e.name}`;
      try {
        if (now < statSync(p).atimeMs / 1000 + OSSIFIED) continue;
        unlinkSync(p);
      } catch {
        /* gone or unreadable: not ours to worry about */
      }
    }
  } finally {
    dir.closeSync();
  }
}
