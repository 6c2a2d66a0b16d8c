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
import type { Ctx } from '../src/lib/program.ts';
import { Exit, errline } from '../src/lib/strerr.ts';
import { sgetopt } from '../src/lib/sgetopt.ts';
import { sendControl } from '../src/lib/svsend.ts';

const LETTERS = 'udopchaitkx';
const OPTIONS =
  'svc options: u up, d down, o once, x exit, p pause, c continue, h hup, a alarm, i interrupt, t term, k kill';

export function main(ctx: Ctx): number {
  const p = sgetopt('svc', ctx.argv.slice(1), LETTERS);
  if (p.bad) {
    errline(OPTIONS);
    throw new Exit(100);
  }
  let cmds = '';
  for (const o of p.opts) if (!cmds.includes(o.opt)) cmds += o.opt;
  for (const dir of p.rest) sendControl('svc', ctx.cwd, dir, cmds);
  return 0;
}
