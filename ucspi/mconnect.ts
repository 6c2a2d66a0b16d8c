/**
 * mconnect [host [port]]: an interactive SMTP connection (mconnect(1); port
 * default 25): what the server sends goes to stdout as is, stdin goes to the
 * server with every LF turned into CR LF (mconnect-io); exits 0 when stdin
 * ends. Exit 111 with tcpclient's messages when the connection fails.
 */
import type { Ctx } from '../src/lib/program.ts';
import { runClient, raw } from '../src/lib/ucspi/smallclient.ts';

export function main(ctx: Ctx): Promise<number> {
  const a = ctx.argv;
  return runClient(ctx, { host: a[1] ?? '0', port: a[2] ?? '25', send: 'stdin', filter: raw, failStatus: 111 });
}
