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
 * cleanupPid(): qmail-clean also removes pid/ files whose atime is more than
 * OSSIFIED (36 hours) ago, qmail-queue crumbs; it does so at start and then
 * once every 30 requests.
 */
import { opendirSync, statSync, unlinkSync } from 'node:fs';
import { errCode } from '../errstr.ts';
import { qfn } from '../queue/layout.ts';

/** 36 hours in seconds; must exceed qmail-queue's 24-hour DEATH. */
export const OSSIFIED = 129600;

/** Handle one request (without its NUL); returns the response byte. */
export function cleanRequest(queue: string, req: string, split: number): '+' | '!' | 'x' {
  const len = req.length + 1;
  if (len < 7 || len > 100) return 'x';
  const digits = req.slice(5);
  if (!/^[0-9]+$/.test(digits)) return 'x';
  const id = Number(digits);
  const unl = (p: string): boolean => {
    try {
      unlinkSync(`${queue}/${p}`);
    } catch (e) {
      if (errCode(e) !== 'ENOENT') return false;
    }
    return true;
  };
  if (req.startsWith('foop/')) return unl(qfn('intd', id, split)) && unl(qfn('mess', id, split)) ? '+' : '!';
  if (req.startsWith('todo/')) return unl(qfn('intd', id, split)) && unl(qfn('todo', id, split)) ? '+' : '!';
  return 'x';
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
