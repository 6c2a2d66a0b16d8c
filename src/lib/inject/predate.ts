/**
 * inject/predate: the `Date:` line qmail's predate (used by datemail) puts
 * in front of a message: local time as TZ selects it, with the offset from
 * UTC rounded to minutes: `Date: 22 Nov 2026 03:04:05 +0100\n` (day not
 * padded, hours/minutes/seconds two digits, `+` for zero offset).
 */
import { zoneFor } from '../localtime.ts';

const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number): string => String(n).padStart(2, '0');

/** The Date line for t seconds since the epoch in zone TZ (undefined: /etc/localtime). */
export function predateLine(t: number, tz: string | undefined): string {
  const tm = zoneFor(tz).localtime(Math.floor(t));
  const off = tm.gmtoff;
  const minutes = Math.floor((Math.abs(off) + 30) / 60);
  return `Date: ${tm.mday} ${MON[tm.mon - 1]} ${tm.year} ${p2(tm.hour)}:${p2(tm.min)}:${p2(tm.sec)} ${off < 0 ? '-' : '+'}${p2(Math.floor(minutes / 60))}${p2(minutes % 60)}\n`;
}
