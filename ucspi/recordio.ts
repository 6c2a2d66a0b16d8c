/**
 * recordio program [arg ...]: run program and log everything it reads and
 * writes on stderr (recordio(1), ucspi-tcp 0.88; ../shared/FORMATS.md
 * section 11): `PID < line ` for data from stdin to the program, `PID > line `
 * for the program's output, `text+` for a piece without newline, `[EOF]` at
 * each end; PID is the program's pid. The program keeps this process (same
 * pid, exec'd via PATH as pathexec does); a child (src/lib/relay.ts) copies
 * and logs, reading at most 256 bytes at a time. Exit status: the program's.
 * Errors: 100 `recordio: usage: recordio program [ arg ... ]`; 111
 * `recordio: fatal: unable to run PROGRAM: ERR`, `unable to create pipe: ERR`,
 * `unable to fork: ERR`, `unable to move descriptors: ERR`.
 */
import type { Ctx } from '../src/lib/program.ts';
import { errline, Exit } from '../src/lib/strerr.ts';
import { execOrDie } from '../src/lib/pathexec.ts';
import { relayFailure, startRelay } from '../src/lib/forkrelay.ts';

export function main(ctx: Ctx): number {
  const argv = ctx.argv.slice(1);
  if (argv.length === 0) {
    errline('recordio: usage: recordio program [ arg ... ]');
    throw new Exit(100);
  }
  try {
    startRelay('recordio', process.pid);
  } catch (e) {
    relayFailure('recordio', e);
  }
  return execOrDie('recordio', argv, ctx.env);
}
