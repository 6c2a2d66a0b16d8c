/**
 * svscanboot [dir]: start svscan on the service directory with its output
 * kept by readproctitle (svscanboot(8); Debian's /usr/bin/svscanboot script,
 * reproduced with this project's programs). In order:
 *
 *  1. stdin, stdout and stderr become /dev/null;
 *  2. `svc -dx DIR/* DIR/x/log`: every supervise left from an earlier boot
 *     is told to stop its service and exit (names starting with `.` skipped,
 *     as sh's glob does);
 *  3. `env - PATH=$PATH svscan DIR 2>&1 | env - PATH=$PATH readproctitle
 *     service errors: ` + 400 dots: svscan runs as a child with only PATH in
 *     its environment and stdout+stderr into a pipe, and svscanboot then
 *     becomes readproctitle (execve, same pid) reading that pipe.
 *
 * DIR defaults to /etc/service (Debian's; the man page says /service); the
 * argument is an extra. PATH is Debian's fixed
 * `/command:/usr/local/bin:/usr/local/sbin:/bin:/sbin:/usr/bin:/usr/sbin:/usr/X11R6/bin`
 * with this checkout's bin/ in front, so svscan finds our supervise and the
 * services our tools. Exits 111 only if readproctitle cannot be executed.
 */
import { spawn } from 'node:child_process';
import { fs } from '../src/lib/nodefs.ts';
import { sys } from '../src/lib/native.ts';
import type { Ctx } from '../src/lib/program.ts';
import { binPath } from '../src/lib/root.ts';
import { sendControl } from '../src/lib/svsend.ts';

const { closeSync, openSync, readdirSync, statSync } = fs;

/** Debian svscanboot's PATH. */
export const BOOT_PATH = '/command:/usr/local/bin:/usr/local/sbin:/bin:/sbin:/usr/bin:/usr/sbin:/usr/X11R6/bin';

export function main(ctx: Ctx): number {
  const dir = ctx.argv[1] ?? '/etc/service';
  const path = `${binPath('').slice(0, -1)}:${BOOT_PATH}`;
  const devnull = openSync('/dev/null', 'r+');
  for (const fd of [0, 1, 2]) sys.dup2(devnull, fd);
  closeSync(devnull);
  stopOld(ctx.cwd, dir);
  const [r, w] = sys.pipe();
  const env = { PATH: path };
  const child = spawn(binPath('svscan'), [dir], { cwd: ctx.cwd, env, stdio: [0, w, w] });
  child.on('error', () => {});
  sys.close(w);
  sys.dup2(r, 0);
  sys.close(r);
  try {
    sys.execve(binPath('readproctitle'), ['readproctitle', 'service', 'errors:', '.'.repeat(400)], [`PATH=${path}`]);
  } catch {
    return 111;
  }
}

/** svc -dx DIR/* DIR/x/log, in sh glob order, messages to /dev/null. */
function stopOld(cwd: string, dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir.startsWith('/') ? dir : `${cwd}/${dir}`)
      .filter((n) => !n.startsWith('.'))
      .sort();
  } catch {
    return;
  }
  for (const n of names) sendControl('svc', cwd, `${dir}/${n}`, 'dx');
  for (const n of names) {
    try {
      statSync(`${dir.startsWith('/') ? dir : `${cwd}/${dir}`}/${n}/log`);
    } catch {
      continue;
    }
    sendControl('svc', cwd, `${dir}/${n}/log`, 'dx');
  }
}
