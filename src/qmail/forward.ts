/**
 * forward address ...
 *
 * forward(1): queue the message on fd 0, with $DTLINE in front, from
 * $NEWSENDER to each address (meant for a .qmail `|forward ...` line).
 * Prints `forward: qp N` on stderr and exits 0 when queued. `forward:
 * fatal: NEWSENDER not set` / `DTLINE not set` (100); `unable to read
 * message: E` (111); the queue's refusal text (100 when permanent, else
 * 111). N is the queueing process's pid (ours when queued in-process).
 */
import type { Ctx } from '../lib/program.ts';
import { errline } from '../lib/strerr.ts';
import { errstr } from '../lib/errstr.ts';
import { forwardMessage, readInput } from '../lib/local/forwarder.ts';

const bytes = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

export async function main(ctx: Ctx): Promise<number> {
  const sender = ctx.env.NEWSENDER;
  if (sender === undefined) {
    errline('forward: fatal: NEWSENDER not set');
    return 100;
  }
  const dtline = ctx.env.DTLINE;
  if (dtline === undefined) {
    errline('forward: fatal: DTLINE not set');
    return 100;
  }
  let msg: Buffer;
  try {
    msg = readInput(false);
  } catch (e) {
    errline(`forward: fatal: unable to read message: ${errstr(e)}`);
    return 111;
  }
  const qqx = await forwardMessage(ctx.env, bytes(dtline), msg, bytes(sender), ctx.argv.slice(1).map(bytes));
  if (qqx !== '') {
    errline(`forward: fatal: ${qqx.slice(1)}`);
    return qqx[0] === 'D' ? 100 : 111;
  }
  errline(`forward: qp ${process.pid}`);
  return 0;
}
