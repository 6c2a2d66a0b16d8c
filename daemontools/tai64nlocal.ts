/**
 * tai64nlocal: convert TAI64N labels at the start of lines to local time
 * (tai64nlocal(8), daemontools 0.76; ../shared/FORMATS.md section 1). A line
 * `@4000000037c219bf2ef02e94 text` becomes `1999-08-23 21:03:43.787492500
 * text`, in the zone TZ selects as glibc does (src/lib/localtime.ts). Rules in
 * src/lib/tai64local.ts. Arguments are ignored. Exit 0 at end of input; 111
 * silently on a read or write error.
 */
import { readSync } from 'node:fs';
import type { Ctx } from '../src/lib/program.ts';
import { writeAll } from '../src/lib/strerr.ts';
import { errCode } from '../src/lib/errstr.ts';
import { zoneFor } from '../src/lib/localtime.ts';
import { LocalFilter } from '../src/lib/tai64local.ts';

export function main(ctx: Ctx): number {
  const f = new LocalFilter(zoneFor(ctx.env.TZ, ctx.env.TZDIR || undefined));
  const buf = Buffer.allocUnsafe(65536);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      if (errCode(e) === 'EINTR') continue;
      return 111;
    }
    if (n === 0) return 0;
    try {
      writeAll(1, f.push(buf.subarray(0, n)));
    } catch {
      return 111;
    }
  }
}
