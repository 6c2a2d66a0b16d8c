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
 * cleanRequest() does intd/N's unlink directly (it frees nothing) and the
 * unlink that frees the file in the libuv pool: on a `discard` mount the
 * freed block is discarded before unlink returns, 66 us on a quiet disk but
 * several hundred under load, which must not stall qmail-clean's other
 * requests (or qmail-send, doing qmail-clean's job itself).
 *
 * cleanupPid(): qmail-clean also removes pid/ files whose atime is more than
 * OSSIFIED (36 hours) ago, qmail-queue crumbs; it does so at start and then
 * once every 30 requests.
 */
import { opendirSync, statSync, unlink, unlinkSync } from 'node:fs';
import { errCode } from '../errstr.ts';
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

/**
 * unlink(2); true when the name is gone (ENOENT counts). `absent`: the name
 * is normally gone already (intd/N at `foop/`), which a stat says without
 * building an ENOENT exception.
 */
function unlinkGone(path: string, absent: boolean): boolean {
  try {
    if (absent && statSync(path, { throwIfNoEntry: false }) === undefined) return true;
    unlinkSync(path);
    return true;
  } catch (e) {
    return errCode(e) === 'ENOENT';
  }
}

/**
 * Handle one request (without its NUL); resolves to the response byte.
 * intd/N's unlink right away (it frees nothing), then the unlink that frees
 * the file (todo/N, mess/S/N), which waits for the device's discard, in the
 * libuv pool: INTERNALS' order.
 */
export function cleanRequest(queue: string, req: string, split: number): Promise<'+' | '!' | 'x'> {
  const files = requestFiles(req, split);
  if (!files) return Promise.resolve('x');
  if (!unlinkGone(`${queue}/${files[0]}`, req.startsWith('foop/'))) return Promise.resolve('!');
  return new Promise((res) => unlink(`${queue}/${files[1]}`, (e) => res(e === null || e.code === 'ENOENT' ? '+' : '!')));
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
