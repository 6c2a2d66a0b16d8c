/**
 * http@ [host [page [port]]]: sends `GET /page HTTP/1.0` and a Host header
 * (CR LF lines) to host:port (default 80) and prints the body: the lines
 * after the first empty one, CRs removed, empty lines dropped (http@(1);
 * Debian's script's awk; exit 0 as its pipeline).
 */
import type { Ctx } from '../src/lib/program.ts';
import { runClient, delcrBody } from '../src/lib/ucspi/smallclient.ts';

export function main(ctx: Ctx): Promise<number> {
  const a = ctx.argv;
  const host = a[1] ?? '0';
  const port = a[3] ?? '80';
  const req = `GET /${a[2] ?? ''} HTTP/1.0\r\nHost: ${host}:${port}\r\n\r\n`;
  return runClient(ctx, { host, port, send: Buffer.from(req, 'latin1'), filter: delcrBody(), failStatus: 0 });
}
