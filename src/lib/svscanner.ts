/**
 * svscanner: what svscan(8) does (daemontools 0.76; ../shared/FORMATS.md
 * section 4): one supervise(8) per subdirectory of the scanned directory,
 * and for a subdirectory NAME with NAME/log a second `supervise log` (cwd
 * NAME) whose stdin is the read end of a pipe whose write end is NAME's
 * supervise's stdout. svscan keeps both ends of that pipe for as long as it
 * knows the service, so log lines survive restarts of either side.
 *
 * scan(): entries starting with `.` are skipped; others are stat()ed
 * (following symlinks; `svscan: warning: unable to stat NAME: ...`), non-
 * directories skipped, services identified by (device, inode), at most 1000.
 * `supervise` is found through $PATH like the original's pathexec. A
 * supervise that exited is noticed through its ChildProcess 'exit' event and
 * started again at the next scan; a service whose directory vanished is
 * forgotten (pipe closed) once its supervise processes have exited.
 *
 * The supervise processes are ordinary children (same session and process
 * group, no setsid, as the original): killing svscan leaves them running.
 */
import { spawn } from 'node:child_process';
import { fs } from './nodefs.ts';
import { errCode } from './errstr.ts';
import { sys } from './native.ts';
import { warn } from './strerr.ts';

const { readdirSync, statSync } = fs;

/** daemontools' SERVICES limit. */
export const MAX_SERVICES = 1000;

interface Service {
  dev: bigint;
  ino: bigint;
  /** pid of `supervise NAME`, 0 when not running */
  pid: number;
  /** pid of `supervise log` in NAME, 0 when not running */
  pidlog: number;
  /** [read, write] ends of the log pipe when NAME/log exists */
  pipe: [number, number] | undefined;
  active: boolean;
}

/** The services svscan knows, and one scan of the current directory. */
export class Scanner {
  private readonly services: Service[] = [];
  /** program started for each service (tests may point it elsewhere) */
  private readonly supervise: string;

  constructor(supervise = 'supervise') {
    this.supervise = supervise;
  }

  /** Read `.` once: start what is missing, forget what is gone. */
  scan(): void {
    for (const x of this.services) x.active = false;
    let names: string[];
    try {
      names = readdirSync('.');
    } catch (e) {
      warn('svscan', 'unable to read directory .', e);
      return;
    }
    for (const name of names) if (!name.startsWith('.')) this.try(name);
    for (let i = 0; i < this.services.length; ) {
      const x = this.services[i];
      if (!x.active && x.pid === 0 && x.pidlog === 0) {
        if (x.pipe) for (const fd of x.pipe) closeQuietly(fd);
        this.services.splice(i, 1);
        continue;
      }
      i++;
    }
  }

  private try(name: string): void {
    let st;
    try {
      st = statSync(name, { bigint: true });
    } catch (e) {
      warn('svscan', `unable to stat ${name}`, e);
      return;
    }
    if (!st.isDirectory()) return;
    let x = this.services.find((s) => s.dev === st.dev && s.ino === st.ino);
    if (x === undefined) {
      if (this.services.length >= MAX_SERVICES) {
        warn('svscan', `unable to start ${name}: running too many services`);
        return;
      }
      let pipe: [number, number] | undefined;
      try {
        statSync(`${name}/log`);
        try {
          pipe = sys.pipe();
        } catch (e) {
          warn('svscan', `unable to create pipe for ${name}`, e);
          return;
        }
      } catch (e) {
        if (errCode(e) !== 'ENOENT') {
          warn('svscan', `unable to stat ${name}/log`, e);
          return;
        }
      }
      x = { dev: st.dev, ino: st.ino, pid: 0, pidlog: 0, pipe, active: false };
      this.services.push(x);
    }
    x.active = true;
    const svc = x;
    if (svc.pid === 0) {
      svc.pid = this.start([name], undefined, [0, svc.pipe ? svc.pipe[1] : 1, 2], name, (pid) => {
        if (svc.pid === pid) svc.pid = 0;
      });
    }
    if (svc.pipe && svc.pidlog === 0) {
      svc.pidlog = this.start(['log'], name, [svc.pipe[0], 1, 2], `${name}/log`, (pid) => {
        if (svc.pidlog === pid) svc.pidlog = 0;
      });
    }
  }

  /** spawn supervise ARGS; returns its pid (0 if it could not start). */
  private start(args: string[], cwd: string | undefined, stdio: number[], what: string, gone: (pid: number) => void): number {
    let child;
    try {
      child = spawn(this.supervise, args, { cwd, stdio });
    } catch (e) {
      warn('svscan', `unable to start supervise ${what}`, e);
      return 0;
    }
    child.on('error', (e) => warn('svscan', `unable to start supervise ${what}`, e));
    const pid = child.pid ?? 0;
    if (pid !== 0) child.on('exit', () => gone(pid));
    return pid;
  }
}

function closeQuietly(fd: number): void {
  try {
    sys.close(fd);
  } catch {
    /* already closed */
  }
}

/**
 * Scan dir now, then every `every` ms and whenever SIGALRM arrives (an extra:
 * the original has no signal handlers). Never resolves.
 */
export function svscanForever(scanner: Scanner, every = 5000): Promise<never> {
  const tick = (): void => {
    scanner.scan();
    timer = setTimeout(tick, every);
  };
  let timer = setTimeout(tick, 0);
  process.on('SIGALRM', () => {
    clearTimeout(timer);
    tick();
  });
  return new Promise<never>(() => {});
}
