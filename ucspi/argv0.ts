/**
 * argv0 realname program [arg ...]: run realname with argv[0] set to program
 * (argv0(1), ucspi-tcp 0.88; ../shared/FORMATS.md section 11). realname is
 * found as pathexec finds programs ($PATH; a name with `/` used as is) and
 * really exec'd (same pid), with args after program passed on.
 * Errors: 100 `argv0: usage: argv0 realname program [ arg ... ]` (fewer than
 * two arguments); 111 `argv0: fatal: unable to run REALNAME: ERR`.
 */
import type { Ctx } from '../src/lib/program.ts';
import { die, errline, Exit } from '../src/lib/strerr.ts';
import { environ, keepInheritedFds, pathexecRun } from '../src/lib/pathexec.ts';
import { sys } from '../src/lib/native.ts';

export function main(ctx: Ctx): number {
  const [, realname, ...argv] = ctx.argv;
  if (realname === undefined || argv.length === 0) {
    errline('argv0: usage: argv0 realname program [ arg ... ]');
    throw new Exit(100);
  }
  try {
    keepInheritedFds();
    pathexecRun(realname, argv, environ(ctx.env), ctx.env.PATH, sys.execve);
  } catch (e) {
    die('argv0', 111, `unable to run ${realname}`, e);
  }
}
