/**
 * qmaildate: the two date formats qmail writes, from a time in seconds since
 * the epoch, always in UTC (qmail's datetime_tai ignores time zones):
 *
 * - date822fmt(t): `26 Sep 1995 04:46:54 -0000` (day not padded), used in
 *   qmail-queue's and qmail-smtpd's Received lines and qmail-qread (which
 *   prints the first 20 characters + ` GMT`).
 * - myctime(t): `Sat Jan 03 01:05:34 1996` (asctime layout but the day is
 *   zero-padded, as qmail's myctime.c), the date in an mbox From_ line.
 *
 * Neither includes the trailing newline qmail's C functions append.
 */

const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

const p2 = (n: number): string => (n < 10 ? '0' : '') + n;

/** `D Mon YYYY HH:MM:SS -0000` for t seconds since the epoch (UTC). */
export function date822fmt(t: number): string {
  const d = new Date(Math.floor(t) * 1000);
  return `${d.getUTCDate()} ${MON[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} -0000`;
}

/** `Www Mon DD HH:MM:SS YYYY` for t seconds since the epoch (UTC). */
export function myctime(t: number): string {
  const d = new Date(Math.floor(t) * 1000);
  return `${DAY[d.getUTCDay()]} ${MON[d.getUTCMonth()]} ${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}
