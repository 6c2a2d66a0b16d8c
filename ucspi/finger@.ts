/**
 * finger@ [host [user]]: sends `user` CR LF to the finger port (79) and
 * prints the answer with CRs removed and `cat -v` rendering (finger@(1);
 * exit 0 as the script's pipeline).
 */
import type { Ctx } from '../src/lib/program.ts';
import { runClient, delcrCatV } from '../src/lib/ucspi/smallclient.ts';

export function main(ctx: Ctx): Promise<number> {
  const a = ctx.argv;
  return runClient(ctx, { host: a[1] ?? '0', port: '79', send: Buffer.from(`${a[2] ?? ''}\r\n`, 'latin1'), filter: delcrCatV(), failStatus: 0 });
}
