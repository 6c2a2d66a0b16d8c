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
 * The unlinks run in the libuv pool: an unlink that frees a file can wait
 * for the device (on a `discard` mount the freed blocks are discarded before
 * unlink returns), so qmail-clean works on several requests at once, each
 * one's unlinks still in INTERNALS' order, and answers them in the order
 * they came (CleanPipeline).
 *
 * cleanupPid(): qmail-clean also removes pid/ files whose atime is more than
 * OSSIFIED (36 hours) ago, qmail-queue crumbs; it does so at start and then
 * once every 30 requests.
 */
import { opendirSync, statSync, unlink, unlinkSync } from 'node:fs';
import { qfn } from '../queue/layout.ts';

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

/** unlink(2) in the pool; true when the name is gone (ENOENT counts). */
function unlinkGone(path: string): Promise<boolean> {
  return new Promise((res) => unlink(path, (e) => res(e === null || e.code === 'ENOENT')));
}

/** Handle one request (without its NUL); resolves to the response byte. The unlinks run in the libuv pool, one after the other. */
export async function cleanRequest(queue: string, req: string, split: number): Promise<'+' | '!' | 'x'> {
  const files = requestFiles(req, split);
  if (!files) return 'x';
  for (const f of files) if (!(await unlinkGone(`${queue}/${f}`))) return '!';
  return '+';
}

/**
 * Requests worked on together, answered in arrival order: push() each
 * request, the answers go to `write` in order, at most `limit` requests in
 * progress (the rest wait their turn). idle() resolves when nothing is left.
 */
export class CleanPipeline {
  private readonly queue: string;
  private readonly split: number;
  private readonly write: (answers: string) => void;
  private readonly limit: number;
  private readonly waiting: string[] = [];
  private readonly running: Array<{ answer?: string }> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(queue: string, split: number, write: (answers: string) => void, limit = 16) {
    this.queue = queue;
    this.split = split;
    this.write = write;
    this.limit = limit;
  }

  /** Take one request (without its NUL). */
  push(req: string): void {
    this.waiting.push(req);
    this.start();
  }

  /** Resolves once every request taken so far is answered. */
  idle(): Promise<void> {
    if (this.running.length === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private start(): void {
    while (this.running.length < this.limit && this.waiting.length > 0) {
      const slot: { answer?: string } = {};
      this.running.push(slot);
      void cleanRequest(this.queue, this.waiting.shift()!, this.split).then((a) => {
        slot.answer = a;
        this.drain();
      });
    }
  }

  private drain(): void {
    let out = '';
    while (this.running.length > 0 && this.running[0].answer !== undefined) out += this.running.shift()!.answer;
    if (out !== '') this.write(out);
    this.start();
    if (this.running.length === 0 && this.waiting.length === 0) for (const r of this.idleWaiters.splice(0)) r();
  }
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
