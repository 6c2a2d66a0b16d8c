/**
 * setlock [-nNxX] file program [arg...]: run program holding an exclusive
 * flock(2) on file (setlock(8), daemontools 0.76; ../shared/FORMATS.md
 * sections 0 and 12). file is opened as DJB's open_append (O_WRONLY |
 * O_APPEND | O_CREAT | O_NONBLOCK, mode 0600 before umask) and the open
 * descriptor, still locked, is passed to program (FD_CLOEXEC cleared), which
 * is exec'd (same pid). The lock interoperates with flock(1), not fcntl locks.
 * -n: fail at once if the lock is held; -N: wait (default); -x: exit 0
 * silently if file cannot be opened or locked; -X: complain (default).
 * Exit 100: `setlock: usage: setlock [ -nNxX ] file program [ arg ... ]`.
 * Exit 111: `setlock: fatal: unable to open FILE: ...`, `unable to lock FILE:
 * temporary failure` (-n, held), `unable to run PROGRAM: ...`.
 */
import { constants, openSync } from 'node:fs';
import type { Ctx } from '../src/lib/program.ts';
import { die, usage } from '../src/lib/strerr.ts';
import { sgetopt } from '../src/lib/sgetopt.ts';
import { LOCK_EX, LOCK_NB, sys } from '../src/lib/native.ts';
import { execOrDie } from '../src/lib/pathexec.ts';

export function main(ctx: Ctx): number {
  const { opts, rest, bad } = sgetopt(ctx.argv[0], ctx.argv.slice(1), 'nNxX');
  let nonblock = false;
  let quiet = false;
  for (const o of opts) {
    if (o.opt === 'n') nonblock = true;
    else if (o.opt === 'N') nonblock = false;
    else if (o.opt === 'x') quiet = true;
    else if (o.opt === 'X') quiet = false;
  }
  const [file, ...child] = rest;
  if (bad || file === undefined || child.length === 0) usage('setlock', '[ -nNxX ] file program [ arg ... ]');
  const path = file.startsWith('/') ? file : `${ctx.cwd}/${file}`;
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK, 0o600);
  } catch (e) {
    if (quiet) return 0;
    die('setlock', 111, `unable to open ${file}`, e);
  }
  try {
    sys.flock(fd, nonblock ? LOCK_EX | LOCK_NB : LOCK_EX);
  } catch (e) {
    if (quiet) return 0;
    die('setlock', 111, `unable to lock ${file}`, e);
  }
  sys.cloexec(fd, false);
  return execOrDie('setlock', child, ctx.env);
}
