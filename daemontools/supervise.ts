/**
 * supervise dir: start ./run in dir and keep it running, obeying svc(8)
 * commands (supervise(8), daemontools 0.76; ../shared/FORMATS.md section 2).
 * Exactly one argument, else `supervise: usage: supervise dir` (100). Fatal
 * set-up problems exit 111 (`unable to chdir to DIR`, `unable to acquire
 * DIR/supervise/lock: temporary failure`, ...). Exits 0 after `svc -x` once
 * the service is down. The work is done by src/lib/supervisor.ts.
 */
import type { Ctx } from '../src/lib/program.ts';
import { usage } from '../src/lib/strerr.ts';
import { supervise } from '../src/lib/supervisor.ts';

export function main(ctx: Ctx): Promise<number> {
  const dir = ctx.argv[1];
  if (dir === undefined || ctx.argv.length > 2) usage('supervise', 'dir');
  return supervise(dir, ctx.cwd);
}
