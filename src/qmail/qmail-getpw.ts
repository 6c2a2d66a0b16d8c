/**
 * qmail-getpw local
 *
 * qmail-getpw(8): the account in charge of a local address, by
 * qmail-getpw's rules (src/lib/local/getpw.ts): prints
 * `user\0uid\0gid\0homedir\0dash\0ext\0` on fd 1 and exits 0. No argument:
 * 100. No account and no `alias` user: 116 (QLX_NOALIAS); a temporary
 * error checking a home directory: 115 (QLX_NFS). The local part is used
 * as bytes (case-folded ASCII only).
 */
import type { Ctx } from '../lib/program.ts';
import { writeAll } from '../lib/strerr.ts';
import { formatNughde, getpw, PasswdCache, QlxError } from '../lib/local/getpw.ts';

export function main(ctx: Ctx): number {
  const local = ctx.argv[1];
  if (local === undefined) return 100;
  try {
    writeAll(1, formatNughde(getpw(Buffer.from(local, 'utf8').toString('latin1'), new PasswdCache())));
  } catch (e) {
    if (e instanceof QlxError) return e.code;
    throw e;
  }
  return 0;
}
