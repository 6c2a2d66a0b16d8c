/**
 * who@ [host]: prints the server's systat (port 11) answer with CRs removed
 * and control characters shown by `cat -v` (who@(1); Debian's script pipes
 * tcpclient into cat -v, so it exits 0 even when the connection fails).
 */
import type { Ctx } from '../src/lib/program.ts';
import { runClient, delcrCatV } from '../src/lib/ucspi/smallclient.ts';

export function main(ctx: Ctx): Promise<number> {
  const a = ctx.argv;
  return runClient(ctx, { host: a[1] ?? '0', port: '11', filter: delcrCatV(), failStatus: 0 });
}
