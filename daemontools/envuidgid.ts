/**
 * envuidgid account child: run child with $GID and $UID set to account's gid
 * and uid (envuidgid(8), daemontools 0.76; ../shared/FORMATS.md section 12).
 * The process's own ids are unchanged; GID is queued before UID (pathexec.ts
 * edit order), child is exec'd (same pid). No options are parsed.
 * Exit 100: `envuidgid: usage: envuidgid account child`.
 * Exit 111: `envuidgid: fatal: unknown account X`, `unable to run CHILD: ...`.
 */
import type { Ctx } from '../src/lib/program.ts';
import { usage } from '../src/lib/strerr.ts';
import { lookupOrDie } from '../src/lib/prot.ts';
import { execOrDie } from '../src/lib/pathexec.ts';

export function main(ctx: Ctx): number {
  const [, account, ...child] = ctx.argv;
  if (account === undefined || child.length === 0) usage('envuidgid', 'account child');
  const pw = lookupOrDie('envuidgid', account);
  return execOrDie('envuidgid', child, ctx.env, [
    { name: 'GID', value: String(pw.gid) },
    { name: 'UID', value: String(pw.uid) },
  ]);
}
