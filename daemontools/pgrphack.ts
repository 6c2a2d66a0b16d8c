/**
 * pgrphack child: run child in a new session and process group (pgrphack(8),
 * daemontools 0.76; ../shared/FORMATS.md section 12). setsid(2) is tried and
 * its failure ignored (a process-group leader cannot start a session), then
 * child is exec'd (same pid, pathexec.ts).
 * Exit 100: `pgrphack: usage: pgrphack child`.
 * Exit 111: `pgrphack: fatal: unable to run CHILD: ...`.
 */
import type { Ctx } from '../src/lib/program.ts';
import { usage } from '../src/lib/strerr.ts';
import { sys } from '../src/lib/native.ts';
import { execOrDie } from '../src/lib/pathexec.ts';

export function main(ctx: Ctx): number {
  const child = ctx.argv.slice(1);
  if (child.length === 0) usage('pgrphack', 'child');
  try {
    sys.setsid();
  } catch {
    /* already a group leader: run in the current group, as the original */
  }
  return execOrDie('pgrphack', child, ctx.env);
}
