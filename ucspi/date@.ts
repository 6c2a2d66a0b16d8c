/**
 * date@ [host]: prints the server's daytime (port 13) answer with CRs removed
 * and control characters shown by `cat -v` (date@(1); exit 0 as the script's
 * pipeline, tcpclient's messages on stderr when the connection fails).
 */
import type { Ctx } from '../src/lib/program.ts';
import { runClient, delcrCatV } from '../src/lib/ucspi/smallclient.ts';

export function main(ctx: Ctx): Promise<number> {
  const a = ctx.argv;
  return runClient(ctx, { host: a[1] ?? '0', port: '13', filter: delcrCatV(), failStatus: 0 });
}
