/**
 * execchild: a launch.ts module that only execs its arguments:
 *
 *     node dist/src/lib/launch.js src/lib/execchild PROG child [args...]
 *
 * runs `child` as pathexec.ts finds it (same pid), or prints `PROG: fatal:
 * unable to run CHILD: <errstr>` and exits 111. Node can spawn but cannot
 * fork, and a spawned child that fails to exec only exits 127; a program that
 * must run a child in a new process with DJB's search and messages (fghack)
 * spawns this module instead (childArgv() builds the command).
 */
import type { Ctx } from './program.ts';
import { progName } from './program.ts';
import { execOrDie } from './pathexec.ts';
import { ROOT } from './root.ts';

/** [file, args] that run child (argv) via this module, reporting as prog. */
export function childArgv(prog: string, argv: string[]): [string, string[]] {
  return [process.execPath, ['--disable-warning=ExperimentalWarning', `${ROOT}/dist/src/lib/launch.js`, 'src/lib/execchild', prog, ...argv]];
}

export function main(ctx: Ctx): number {
  return execOrDie(progName(ctx.argv[0]), ctx.argv.slice(1), ctx.env);
}
