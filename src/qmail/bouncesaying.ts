/**
 * bouncesaying error [ program [ arg ... ] ]
 *
 * bouncesaying(1): without program, print error and exit 100 (qmail-local
 * bounces the message with that text). With program: run it (message on
 * the same fd 0); 0 -> print error, exit 100; 111 -> `bouncesaying: fatal:
 * temporary child error` (111); anything else -> exit 0. A program that
 * cannot be run counts as 111 (temporary errno) or 100. Usage:
 * `bouncesaying: usage: bouncesaying error [ program [ arg ... ] ]` (100).
 */
import type { Ctx } from '../lib/program.ts';
import { errline } from '../lib/strerr.ts';
import { errCode } from '../lib/errstr.ts';
import { isTempErrno } from '../lib/deliver/errtemp.ts';
import { runChild } from '../lib/local/child.ts';

export async function main(ctx: Ctx): Promise<number> {
  const argv = ctx.argv;
  if (argv.length < 2) {
    errline('bouncesaying: usage: bouncesaying error [ program [ arg ... ] ]');
    return 100;
  }
  if (argv.length > 2) {
    const end = await runChild(argv.slice(2), ctx.env, ['inherit', 'inherit', 'inherit']);
    if ('crashed' in end) {
      errline('bouncesaying: fatal: child crashed');
      return 111;
    }
    const code = 'execError' in end ? (isTempErrno(errCode(end.execError)) ? 111 : 100) : end.code;
    if (code === 111) {
      errline('bouncesaying: fatal: temporary child error');
      return 111;
    }
    if (code !== 0) return 0;
  }
  errline(argv[1]);
  return 100;
}
