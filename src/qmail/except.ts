/**
 * except program [ arg ... ]
 *
 * except(1): run program and invert its verdict: 0 -> exit 100, 111 ->
 * `except: fatal: temporary child error` (111), anything else -> exit 0.
 * A program that cannot be run counts as 111 (temporary errno) or 100.
 * Usage: `except: usage: except program [ arg ... ]` (100); `except: fatal:
 * child crashed` (111).
 */
import type { Ctx } from '../lib/program.ts';
import { errline } from '../lib/strerr.ts';
import { errCode } from '../lib/errstr.ts';
import { isTempErrno } from '../lib/deliver/errtemp.ts';
import { runChild } from '../lib/local/child.ts';

export async function main(ctx: Ctx): Promise<number> {
  const argv = ctx.argv;
  if (argv.length < 2) {
    errline('except: usage: except program [ arg ... ]');
    return 100;
  }
  const end = await runChild(argv.slice(1), ctx.env, ['inherit', 'inherit', 'inherit']);
  if ('crashed' in end) {
    errline('except: fatal: child crashed');
    return 111;
  }
  const code = 'execError' in end ? (isTempErrno(errCode(end.execError)) ? 111 : 100) : end.code;
  if (code === 0) return 100;
  if (code === 111) {
    errline('except: fatal: temporary child error');
    return 111;
  }
  return 0;
}
