/**
 * svc [-udopchaitkx] services: send one-byte commands to supervise(8)
 * (svc(8), daemontools 0.76; ../shared/FORMATS.md section 3).
 *
 * The option letters are collected in command-line order, each letter once
 * (first occurrence kept), and written in one write(2) into
 * DIR/supervise/control, opened O_WRONLY|O_NONBLOCK, for every DIR (relative
 * to the original cwd). Without options nothing is written, but each DIR is
 * still checked. Problems with one DIR are warnings and svc goes on:
 * `svc: warning: unable to chdir to DIR: ...`, `unable to control DIR:
 * supervise not running` (ENXIO), `unable to control DIR: <err>`,
 * `error writing commands to DIR: <err>`. Exit 0; a bad option prints the
 * sgetopt message and `svc options: ...`, exit 100.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import type { Ctx } from '../src/lib/program.ts';
import { Exit, errline, warn } from '../src/lib/strerr.ts';
import { errCode } from '../src/lib/errstr.ts';
import { sgetopt } from '../src/lib/sgetopt.ts';
import { checkDir } from '../src/lib/svdir.ts';

const LETTERS = 'udopchaitkx';
const OPTIONS =
  'svc options: u up, d down, o once, x exit, p pause, c continue, h hup, a alarm, i interrupt, t term, k kill';

export function main(ctx: Ctx): number {
  const p = sgetopt(ctx.argv[0] ?? 'svc', ctx.argv.slice(1), LETTERS);
  if (p.bad) {
    errline(OPTIONS);
    throw new Exit(100);
  }
  let cmds = '';
  for (const o of p.opts) if (!cmds.includes(o.opt)) cmds += o.opt;
  for (const dir of p.rest) control(ctx.cwd, dir, cmds);
  return 0;
}

/** Write cmds (letters) into dir/supervise/control, warning on problems. */
export function control(cwd: string, dir: string, cmds: string): void {
  const abs = dir.startsWith('/') ? dir : `${cwd}/${dir}`;
  try {
    checkDir(abs);
  } catch (e) {
    warn('svc', `unable to chdir to ${dir}`, e);
    return;
  }
  let fd: number;
  try {
    fd = openSync(`${abs}/supervise/control`, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (e) {
    if (errCode(e) === 'ENXIO') errline(`svc: warning: unable to control ${dir}: supervise not running`);
    else warn('svc', `unable to control ${dir}`, e);
    return;
  }
  try {
    if (cmds.length > 0) writeSync(fd, cmds);
  } catch (e) {
    warn('svc', `error writing commands to ${dir}`, e);
  } finally {
    closeSync(fd);
  }
}
