/**
 * svok dir: exit 0 if supervise is running in dir, 100 if not (svok(8),
 * daemontools 0.76). Opens dir/supervise/ok for writing without blocking:
 * success means a supervise holds its read end. ENOENT/ENXIO -> 100 silently.
 * Exit 100 usage; 111 `svok: fatal: unable to chdir to DIR: ...` or
 * `unable to open DIR/supervise/ok: ...`.
 */
import { resolve } from 'node:path';
import type { Ctx } from '../src/lib/program.ts';
import { die, usage } from '../src/lib/strerr.ts';
import { errCode } from '../src/lib/errstr.ts';
import { checkDir } from '../src/lib/svdir.ts';
import { fs } from '../src/lib/nodefs.ts';

export function main(ctx: Ctx): number {
  const dir = ctx.argv[1];
  if (dir === undefined) usage('svok', 'dir');
  const abs = resolve(ctx.cwd, dir);
  try {
    checkDir(abs);
  } catch (e) {
    die('svok', 111, `unable to chdir to ${dir}`, e);
  }
  try {
    fs.closeSync(fs.openSync(`${abs}/supervise/ok`, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
  } catch (e) {
    const c = errCode(e);
    if (c === 'ENOENT' || c === 'ENXIO') return 100;
    die('svok', 111, `unable to open ${dir}/supervise/ok`, e);
  }
  return 0;
}
