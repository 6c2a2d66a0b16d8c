/**
 * setuidgid account child: run child with account's uid and gid
 * (setuidgid(8), daemontools 0.76; ../shared/FORMATS.md sections 0 and 12).
 *
 * Looks account up (passwd.ts), then as DJB's prot.c: setgroups to exactly
 * the primary gid, setgid, setuid, and execs child (pathexec.ts: same pid,
 * environment unchanged). No options are parsed.
 * Exit 100: `setuidgid: usage: setuidgid account child`.
 * Exit 111: `setuidgid: fatal: unknown account X`, `unable to setgid: ...`,
 * `unable to setuid: ...`, `unable to run CHILD: ...`.
 */
import type { Ctx } from '../src/lib/program.ts';
import { usage } from '../src/lib/strerr.ts';
import { lookupOrDie, switchOrDie } from '../src/lib/prot.ts';
import { execOrDie } from '../src/lib/pathexec.ts';

export function main(ctx: Ctx): number {
  const [, account, ...child] = ctx.argv;
  if (account === undefined || child.length === 0) usage('setuidgid', 'account child');
  const pw = lookupOrDie('setuidgid', account);
  switchOrDie('setuidgid', pw.uid, pw.gid);
  return execOrDie('setuidgid', child, ctx.env);
}
