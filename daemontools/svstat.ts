/**
 * svstat services: one line per service directory saying whether supervise
 * runs there and what supervise/status says (svstat(8), daemontools 0.76;
 * ../shared/FORMATS.md section 3). Always exits 0. Lines:
 *
 *   DIR: unable to chdir: <err>
 *   DIR: unable to stat down: <err>          (errors other than ENOENT)
 *   DIR: supervise not running               (supervise/ok gives ENXIO)
 *   DIR: unable to open supervise/ok: <err>
 *   DIR: unable to open supervise/status: <err>
 *   DIR: unable to read supervise/status: bad format   (< 18 bytes)
 *   DIR: up (pid P) S seconds[, normally down][, paused][, want down]
 *   DIR: down S seconds[, normally up][, want up]
 *
 * S = now - the status timestamp in whole seconds (0 if in the future).
 */
import { fs } from '../src/lib/nodefs.ts';
import type { Ctx } from '../src/lib/program.ts';
import { errCode, errstr } from '../src/lib/errstr.ts';
import { writeAll } from '../src/lib/strerr.ts';
import { checkDir } from '../src/lib/svdir.ts';
import { decode, STATUS_LEN, type SvStatus } from '../src/lib/svstatus.ts';
import { TAI_EPOCH } from '../src/lib/tai64.ts';

const { closeSync, constants, openSync, readSync, statSync } = fs;

export function main(ctx: Ctx): number {
  let out = '';
  for (const dir of ctx.argv.slice(1)) out += `${dir}: ${statusLine(ctx.cwd, dir)}\n`;
  if (out !== '') writeAll(1, out);
  return 0;
}

/** The text after `DIR: ` for one service directory. */
export function statusLine(cwd: string, dir: string, nowUnix = Math.floor(Date.now() / 1000)): string {
  const abs = dir.startsWith('/') ? dir : `${cwd}/${dir}`;
  try {
    checkDir(abs);
  } catch (e) {
    return `unable to chdir: ${errstr(e)}`;
  }
  let normallyDown = false;
  try {
    statSync(`${abs}/down`);
    normallyDown = true;
  } catch (e) {
    if (errCode(e) !== 'ENOENT') return `unable to stat down: ${errstr(e)}`;
  }
  try {
    closeSync(openSync(`${abs}/supervise/ok`, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch (e) {
    if (errCode(e) === 'ENXIO') return 'supervise not running';
    return `unable to open supervise/ok: ${errstr(e)}`;
  }
  let fd: number;
  try {
    fd = openSync(`${abs}/supervise/status`, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    return `unable to open supervise/status: ${errstr(e)}`;
  }
  const buf = Buffer.alloc(STATUS_LEN);
  let n = 0;
  try {
    while (n < STATUS_LEN) {
      const r = readSync(fd, buf, n, STATUS_LEN - n, null);
      if (r === 0) break;
      n += r;
    }
  } catch (e) {
    return `unable to read supervise/status: ${errstr(e)}`;
  } finally {
    closeSync(fd);
  }
  const st = decode(buf.subarray(0, n));
  if (st === undefined) return 'unable to read supervise/status: bad format';
  return describe(st, normallyDown, nowUnix);
}

/** The status grammar for a decoded status file. */
export function describe(st: SvStatus, normallyDown: boolean, nowUnix: number): string {
  const now = TAI_EPOCH + BigInt(nowUnix);
  const age = now > st.when.sec ? now - st.when.sec : 0n;
  const up = st.pid !== 0;
  let s = up ? `up (pid ${st.pid}) ${age} seconds` : `down ${age} seconds`;
  if (up && normallyDown) s += ', normally down';
  if (!up && !normallyDown) s += ', normally up';
  if (up && st.paused) s += ', paused';
  if (!up && st.want === 'u') s += ', want up';
  if (up && st.want === 'd') s += ', want down';
  return s;
}
