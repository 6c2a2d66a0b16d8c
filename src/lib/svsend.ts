/**
 * svsend: write svc(8) command letters into a service's supervise/control
 * FIFO (daemontools 0.76 svc.c behaviour; ../shared/FORMATS.md section 3).
 * Used by svc and svscanboot.
 */
import { fs } from './nodefs.ts';
import { errCode } from './errstr.ts';
import { errline, warn } from './strerr.ts';
import { checkDir } from './svdir.ts';

const { closeSync, constants, openSync, writeSync } = fs;

/**
 * Write cmds (letters, at most one write(2)) into DIR/supervise/control,
 * opened O_WRONLY|O_NONBLOCK; DIR is taken relative to cwd. Problems are
 * warnings under prog's name (`unable to chdir to DIR`, `unable to control
 * DIR: supervise not running` for ENXIO, `unable to control DIR: <err>`,
 * `error writing commands to DIR: <err>`); returns false after one.
 */
export function sendControl(prog: string, cwd: string, dir: string, cmds: string): boolean {
  const abs = dir.startsWith('/') ? dir : `${cwd}/${dir}`;
  try {
    checkDir(abs);
  } catch (e) {
    warn(prog, `unable to chdir to ${dir}`, e);
    return false;
  }
  let fd: number;
  try {
    fd = openSync(`${abs}/supervise/control`, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (e) {
    if (errCode(e) === 'ENXIO') errline(`${prog}: warning: unable to control ${dir}: supervise not running`);
    else warn(prog, `unable to control ${dir}`, e);
    return false;
  }
  try {
    if (cmds.length > 0) writeSync(fd, cmds);
  } catch (e) {
    warn(prog, `error writing commands to ${dir}`, e);
    return false;
  } finally {
    closeSync(fd);
  }
  return true;
}
