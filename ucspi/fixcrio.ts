/**
 * fixcrio program [arg ...]: run program with a CR inserted before every LF
 * not already preceded by CR, in both directions (fixcrio(1), ucspi-tcp
 * 0.88; ../shared/FORMATS.md section 11). The program keeps this process
 * (same pid, exec'd via PATH as pathexec does); a child (src/lib/relay.ts)
 * copies stdin -> program and program -> stdout, keeping the CR state across
 * reads. Exit status: the program's.
 * Errors: 100 `fixcrio: usage: fixcrio program [ arg ... ]`; 111
 * `fixcrio: fatal: unable to run PROGRAM: ERR`, `unable to create pipe: ERR`,
 * `unable to fork: ERR`, `unable to move descriptors: ERR`.
 */
import type { Ctx } from '../src/lib/program.ts';
import { errline, Exit } from '../src/lib/strerr.ts';
import { execOrDie } from '../src/lib/pathexec.ts';
import { relayFailure, startRelay } from '../src/lib/forkrelay.ts';

export function main(ctx: Ctx): number {
  const argv = ctx.argv.slice(1);
  if (argv.length === 0) {
    errline('fixcrio: usage: fixcrio program [ arg ... ]');
    throw new Exit(100);
  }
  try {
    startRelay('fixcrio');
  } catch (e) {
    relayFailure('fixcrio', e);
  }
  return execOrDie('fixcrio', argv, ctx.env);
}
