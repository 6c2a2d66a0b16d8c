/**
 * condredirect newaddress program [ arg ... ]
 *
 * condredirect(1): run program (message on the same fd 0); exit 0 from it
 * -> queue the message (fd 0 rewound, $DTLINE in front) from $SENDER to
 * newaddress, print `condredirect: qp N` and exit 99 so qmail-local skips
 * the rest of the .qmail file; 111 from it -> `condredirect: fatal:
 * temporary child error` (111); anything else -> exit 0 (not redirected).
 * A program that cannot be run counts as 111 (temporary errno) or 100.
 * `condredirect: usage: condredirect newaddress program [ arg ... ]` (100);
 * `SENDER not set`, `DTLINE not set` (100); `unable to rewind: E`, `unable
 * to read message: E`, `child crashed` (111); a queue refusal (100/111).
 */
import type { Ctx } from '../lib/program.ts';
import { errline } from '../lib/strerr.ts';
import { errCode, errstr } from '../lib/errstr.ts';
import { isTempErrno } from '../lib/deliver/errtemp.ts';
import { runChild } from '../lib/local/child.ts';
import { forwardMessage, readInput } from '../lib/local/forwarder.ts';
import { fstatSync } from 'node:fs';

const bytes = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
const FATAL = 'condredirect: fatal: ';

export async function main(ctx: Ctx): Promise<number> {
  const argv = ctx.argv;
  if (argv.length < 3) {
    errline('condredirect: usage: condredirect newaddress program [ arg ... ]');
    return 100;
  }
  const end = await runChild(argv.slice(2), ctx.env, ['inherit', 'inherit', 'inherit']);
  let code: number;
  if ('execError' in end) code = isTempErrno(errCode(end.execError)) ? 111 : 100;
  else if ('crashed' in end) {
    errline(FATAL + 'child crashed');
    return 111;
  } else code = end.code;
  if (code === 111) {
    errline(FATAL + 'temporary child error');
    return 111;
  }
  if (code !== 0) return 0;
  try {
    if (!fstatSync(0).isFile()) throw Object.assign(new Error('ESPIPE'), { code: 'ESPIPE' });
  } catch (e) {
    errline(`${FATAL}unable to rewind: ${errstr(e)}`);
    return 111;
  }
  const sender = ctx.env.SENDER;
  if (sender === undefined) {
    errline(FATAL + 'SENDER not set');
    return 100;
  }
  const dtline = ctx.env.DTLINE;
  if (dtline === undefined) {
    errline(FATAL + 'DTLINE not set');
    return 100;
  }
  let msg: Buffer;
  try {
    msg = readInput(true);
  } catch (e) {
    errline(`${FATAL}unable to read message: ${errstr(e)}`);
    return 111;
  }
  const qqx = await forwardMessage(ctx.env, bytes(dtline), msg, bytes(sender), [bytes(argv[1])]);
  if (qqx !== '') {
    errline(FATAL + qqx.slice(1));
    return qqx[0] === 'D' ? 100 : 111;
  }
  errline(`condredirect: qp ${process.pid}`);
  return 99;
}
