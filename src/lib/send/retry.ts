/**
 * send/retry: qmail-send's retry schedule (LWQ appendix E.1; qmail-send.c's
 * nextretry): a message born at `birth` is retried at birth + n^2 seconds,
 * where n = floor(sqrt(now - birth)) + skip and skip is the channel's step,
 * 10 for local and 20 for remote deliveries. So local attempts come at
 * 0, 100, 400, 900, ... seconds (then (10k)^2), remote ones at 0, 400, 1600,
 * 3600, ... seconds after the message arrived. Times are whole seconds since
 * the epoch.
 */

/** chanskip: the schedule's step for local (0) and remote (1) deliveries. */
export const CHANSKIP = [10, 20] as const;

/** floor(sqrt(x)) for x >= 0, exact for integers (squareroot). */
export function isqrt(x: number): number {
  if (x <= 0) return 0;
  let y = Math.floor(Math.sqrt(x));
  while (y * y > x) y--;
  while ((y + 1) * (y + 1) <= x) y++;
  return y;
}

/** The next retry time (seconds) of a message born at birth, seen at recent, on a channel with step skip. */
export function nextRetry(birth: number, recent: number, skip: number): number {
  const n = (birth > recent ? 0 : isqrt(recent - birth)) + skip;
  return birth + n * n;
}
