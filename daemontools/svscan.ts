/**
 * svscan [dir]: start and watch one supervise(8) per service directory
 * (svscan(8), daemontools 0.76; ../shared/FORMATS.md section 4). Changes to
 * dir first (`svscan: fatal: unable to chdir to DIR: ...`, 111), then scans
 * every 5 seconds, and at once on SIGALRM (an extra), forever. The work is
 * done by src/lib/svscanner.ts.
 */
import type { Ctx } from '../src/lib/program.ts';
import { die } from '../src/lib/strerr.ts';
import { Scanner, svscanForever } from '../src/lib/svscanner.ts';

export function main(ctx: Ctx): Promise<number> {
  const dir = ctx.argv[1];
  if (dir !== undefined) {
    try {
      process.chdir(dir.startsWith('/') ? dir : `${ctx.cwd}/${dir}`);
    } catch (e) {
      die('svscan', 111, `unable to chdir to ${dir}`, e);
    }
  }
  return svscanForever(new Scanner());
}
