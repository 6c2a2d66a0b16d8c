/**
 * multilog/pause: "errors while running never drop data" (FORMATS.md
 * section 5): an operation that fails prints
 * `multilog: warning: TEXT, pausing: <DJB error phrase>`, sleeps 5 seconds
 * (blocking everything, input included, as deepsleep() does) and is tried
 * again until it succeeds.
 */
import { warn } from '../strerr.ts';

const PROG = 'multilog';
const cell = new Int32Array(new SharedArrayBuffer(4));

/** The last error any retried operation saw (the C prints a stale errno for a crashed processor). */
export let lastError: unknown = Object.assign(new Error('ENOENT'), { code: 'ENOENT' });

/** Remember e as the latest error (startup calls that fail quietly count too). */
export function noteError(e: unknown): void {
  lastError = e;
}

/** Sleep the whole thread for `seconds` seconds. */
export function deepsleep(seconds: number): void {
  Atomics.wait(cell, 0, 0, seconds * 1000);
}

/** Print `multilog: warning: TEXT, pausing[: err]` and sleep 5 s. */
export function pauseWarn(text: string, err?: unknown): void {
  if (err !== undefined) lastError = err;
  warn(PROG, `${text}, pausing`, err);
  deepsleep(5);
}

/** Run fn until it does not throw; each failure is reported with `text` and paused on. */
export function persist<T>(text: string, fn: () => T): T {
  for (;;) {
    try {
      return fn();
    } catch (e) {
      pauseWarn(text, e);
    }
  }
}
