/**
 * tcpcat [host [port]]: prints everything the server at host (default 0 =
 * 127.0.0.1) port (default 17, quote of the day) sends (tcpcat(1); Debian's
 * script: `tcpclient -RHl0 -- host port sh -c 'exec cat <&6'`). Exit 111
 * with tcpclient's messages when the connection fails, else 0.
 */
import type { Ctx } from '../src/lib/program.ts';
import { runClient, raw } from '../src/lib/ucspi/smallclient.ts';

export function main(ctx: Ctx): Promise<number> {
  const a = ctx.argv;
  return runClient(ctx, { host: a[1] ?? '0', port: a[2] ?? '17', filter: raw, failStatus: 111 });
}
