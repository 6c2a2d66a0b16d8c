/**
 * supervisor: what supervise(8) does for one service directory (daemontools
 * 0.76 as Debian ships it; ../shared/FORMATS.md section 2).
 *
 * supervise(dir, cwd) chdirs into dir (relative to cwd) and keeps `supervise/` exactly as
 * daemontools does: `lock` (flock LOCK_EX|LOCK_NB), the `control` and `ok`
 * FIFOs, and the 18-byte `status` file (svstatus.ts) written to `status.new`
 * and renamed on every change. It starts `./run` (unless `./down` exists) with
 * supervise's stdin/stdout/stderr, environment and cwd, and restarts it when it
 * exits while "want up". The command bytes written into `supervise/control`
 * (svcontrol.ts) are processed one per loop iteration, in order.
 *
 * Event-driven, no polling: the control FIFO is opened read+write (so it
 * never sees EOF), non-blocking, and read as a stream; a child's exit arrives
 * as a ChildProcess 'exit' event. After every start supervise "deep sleeps"
 * one second during which neither control bytes nor child exits are looked
 * at (the restart throttle: a service that exits at once restarts about once
 * a second). Only synchronous fs calls are used, so libuv's threadpool never
 * starts (memory).
 *
 * Extra (daemontools-encore style): when ./run exits and an executable
 * `./finish` exists, supervise runs `./finish CODE SIGNAL` (CODE = exit code
 * of ./run or -1 when killed, SIGNAL = the signal number or 0), waits for it,
 * then restarts ./run if wanted. The status shows the service down meanwhile.
 *
 * Deviation: Node's spawn reports an exec failure of ./run to the parent
 * without a pid, so supervise itself prints `supervise: fatal: unable to
 * start DIR/run: <err>` (as the original's forked child does) and the status
 * shows the service down (pid 0) for that second instead of the dead child's
 * pid. libuv would run a file without `#!` through /bin/sh; supervise reports
 * such a file as `exec format error` like execve(2) does.
 *
 * Returns 0 after `svc -x` once ./run is down; dies (strerr.die, 111) when
 * the directory cannot be set up. Uses process-global state (chdir, child
 * processes): a program of its own, never run in-process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fs } from './nodefs.ts';
import { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { errCode, errstr } from './errstr.ts';
import { LOCK_EX, LOCK_NB, sys } from './native.ts';
import { die, warn, errline } from './strerr.ts';
import { encode } from './svstatus.ts';
import { control, initialState, wantByte, type SvState } from './svcontrol.ts';
import { now, type Tai64n } from './tai64.ts';

const { closeSync, constants, lstatSync, mkdirSync, openSync, readlinkSync, readSync, renameSync, statSync, writeSync } = fs;

const FATAL = 'supervise';

/** How ./run (or ./finish) ended. */
interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Run supervise on dir (as given on the command line, for messages). */
export async function supervise(dir: string, cwd: string): Promise<number> {
  const sv = new Supervisor(dir);
  sv.setup(cwd);
  return sv.run();
}

class Supervisor {
  private readonly dir: string;
  private s: SvState = initialState(false);
  private when: Tai64n = now();
  private child: ChildProcess | undefined;
  /** the current child has exited and that was not yet looked at */
  private ended: Ended | undefined;
  /** control bytes received and not yet processed */
  private pending: Buffer = Buffer.alloc(0);
  private wake: (() => void) | undefined;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** chdir, down, supervise/{lock,control,status,ok}, in daemontools' order. */
  setup(cwd: string): void {
    const dir = this.dir;
    try {
      process.chdir(dir.startsWith('/') ? dir : `${cwd}/${dir}`);
    } catch (e) {
      die(FATAL, 111, `unable to chdir to ${dir}`, e);
    }
    let down = false;
    try {
      statSync('down');
      down = true;
    } catch (e) {
      if (errCode(e) !== 'ENOENT') die(FATAL, 111, `unable to stat ${dir}/down`, e);
    }
    this.s = initialState(down);
    makeSuperviseDir();
    try {
      const lock = openSync('supervise/lock', constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK, 0o600);
      sys.flock(lock, LOCK_EX | LOCK_NB);
    } catch (e) {
      die(FATAL, 111, `unable to acquire ${dir}/supervise/lock`, e);
    }
    mkfifoOrDie('supervise/control', dir);
    let rd = -1;
    try {
      rd = openSync('supervise/control', constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (e) {
      die(FATAL, 111, `unable to read ${dir}/supervise/control`, e);
    }
    try {
      openSync('supervise/control', constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (e) {
      die(FATAL, 111, `unable to write ${dir}/supervise/control`, e);
    }
    this.when = now();
    this.announce();
    mkfifoOrDie('supervise/ok', dir);
    try {
      openSync('supervise/ok', constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (e) {
      die(FATAL, 111, `unable to read ${dir}/supervise/ok`, e);
    }
    const sock = new Socket({ fd: rd, readable: true, writable: false });
    sock.on('data', (b: Buffer) => {
      this.pending = this.pending.length === 0 ? b : Buffer.concat([this.pending, b]);
      this.poke();
    });
    sock.on('error', (e) => warn(FATAL, `unable to read ${dir}/supervise/control`, e));
  }

  /** The main loop; resolves with the exit status after `x`. */
  async run(): Promise<number> {
    if (this.s.want && this.s.wantUp) await this.trystart();
    for (;;) {
      if (this.s.exit && this.s.pid === 0) break;
      await this.event();
      const ended = this.ended;
      if (ended !== undefined) {
        this.ended = undefined;
        this.child = undefined;
        this.s.pid = 0;
        this.when = now();
        this.announce();
        await this.finish(ended);
        if (this.s.exit) break;
        if (this.s.want && this.s.wantUp) await this.trystart();
      }
      if (this.pending.length > 0) {
        const byte = this.pending[0];
        this.pending = this.pending.subarray(1);
        for (const e of control(this.s, byte)) {
          if (e.kind === 'announce') this.announce();
          else if (e.kind === 'start') await this.trystart();
          else this.signal(e.sig);
        }
      }
    }
    this.announce();
    return 0;
  }

  /** Resolve when a child exit or a control byte is waiting. */
  private event(): Promise<void> {
    if (this.ended !== undefined || this.pending.length > 0) return Promise.resolve();
    return new Promise((r) => {
      this.wake = r;
    });
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /**
   * Start ./run, announce, then deep-sleep one second. A fork failure
   * (EAGAIN, ENOMEM) is a warning followed by 60 seconds of sleep and a new
   * try (Debian's patch); an exec failure is reported as the original's
   * child reports it, and counts as an exit of ./run after the deep sleep.
   */
  private async trystart(): Promise<void> {
    for (;;) {
      const r = await spawnChild('./run', []);
      if (r.child === undefined && (r.code === 'EAGAIN' || r.code === 'ENOMEM')) {
        warn(FATAL, `unable to fork for ${this.dir}, sleeping 60 seconds`, r.err);
        await sleep(60_000);
        continue;
      }
      if (r.child === undefined) errline(`supervise: fatal: unable to start ${this.dir}/run: ${errstr(r.err)}`);
      const child = r.child;
      this.s.pid = child?.pid ?? 0;
      this.s.paused = false;
      this.when = now();
      this.announce();
      if (child !== undefined) {
        this.child = child;
        child.on('exit', (code, signal) => {
          if (this.child !== child) return;
          this.ended = { code, signal };
          this.poke();
        });
      }
      await sleep(1000);
      // A start that failed: behave as if the child had exited (111) now.
      if (child === undefined) this.ended = { code: 111, signal: null };
      return;
    }
  }

  /** Run ./finish CODE SIGNAL when present and executable, and wait for it. */
  private async finish(ended: Ended): Promise<void> {
    try {
      const st = statSync('finish');
      if (!st.isFile() || (st.mode & 0o111) === 0) return;
    } catch {
      return;
    }
    const signo = ended.signal === null ? 0 : (osConstants.signals[ended.signal] ?? 0);
    const code = ended.code === null ? -1 : ended.code;
    const r = await spawnChild('./finish', [String(code), String(signo)]);
    if (r.child === undefined) {
      warn(FATAL, `unable to start ${this.dir}/finish`, r.err);
      return;
    }
    const f = r.child;
    await new Promise<void>((resolve) => f.on('exit', () => resolve()));
  }

  private signal(sig: NodeJS.Signals): void {
    // libuv reaps a child as soon as it exits (the C supervise's zombie would
    // keep the pid taken until it looks): once the exit is known, the pid may
    // already belong to another process, so nothing is sent.
    if (this.s.pid === 0 || this.ended !== undefined) return;
    try {
      process.kill(this.s.pid, sig);
    } catch {
      /* already gone: its exit event is on the way */
    }
  }

  /** Write supervise/status.new and rename it to supervise/status (warnings only). */
  private announce(): void {
    const s = this.s;
    const buf = encode({ when: this.when, pid: s.pid, paused: s.pid !== 0 && s.paused, want: wantByte(s) });
    const dir = this.dir;
    let fd: number;
    try {
      fd = openSync('supervise/status.new', constants.O_WRONLY | constants.O_NONBLOCK | constants.O_TRUNC | constants.O_CREAT, 0o644);
    } catch (e) {
      warn(FATAL, `unable to open ${dir}/supervise/status.new`, e);
      return;
    }
    let n: number;
    try {
      n = writeSync(fd, buf);
    } catch (e) {
      closeSync(fd);
      warn(FATAL, `unable to write ${dir}/supervise/status.new`, e);
      return;
    }
    closeSync(fd);
    if (n < buf.length) {
      errline(`supervise: warning: unable to write ${dir}/supervise/status.new: partial write`);
      return;
    }
    try {
      renameSync('supervise/status.new', 'supervise/status');
    } catch (e) {
      warn(FATAL, `unable to rename ${dir}/supervise/status.new to status`, e);
    }
  }
}

/**
 * spawn(2)-like start of path (relative to the cwd) with supervise's stdio:
 * the child, or the error (with its errno name) when it could not run.
 * Files execve(2) would refuse with ENOEXEC are refused here too, because
 * libuv would hand them to /bin/sh.
 */
async function spawnChild(path: string, args: string[]): Promise<{ child?: ChildProcess; err?: unknown; code?: string }> {
  if (execFormatError(path)) {
    const err = Object.assign(new Error('exec format error'), { code: 'ENOEXEC' });
    return { err, code: 'ENOEXEC' };
  }
  let child: ChildProcess;
  try {
    child = spawn(path, args, { stdio: 'inherit' });
  } catch (err) {
    return { err, code: errCode(err) };
  }
  if (child.pid !== undefined) {
    child.on('error', () => {});
    return { child };
  }
  const err = await new Promise<unknown>((r) => child.once('error', r));
  return { err, code: errCode(err) };
}

/** mkdir supervise 0700, errors ignored; Debian: a dangling symlink gets its target created. */
function makeSuperviseDir(): void {
  try {
    mkdirSync('supervise', 0o700);
    return;
  } catch {
    /* exists, or cannot: the lock step reports real problems */
  }
  try {
    if (!lstatSync('supervise').isSymbolicLink()) return;
    try {
      statSync('supervise');
    } catch (e) {
      if (errCode(e) === 'ENOENT') mkdirSync(readlinkSync('supervise'), 0o700);
    }
  } catch {
    /* as above */
  }
}

function mkfifoOrDie(path: string, dir: string): void {
  try {
    sys.mkfifo(path, 0o600);
  } catch (e) {
    if (errCode(e) !== 'EEXIST') die(FATAL, 111, `unable to create ${dir}/${path}`, e);
  }
}

/**
 * True when path is a readable, executable regular file that execve(2) would
 * refuse with ENOEXEC (neither `#!` nor ELF).
 */
function execFormatError(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    const st = statSync(path);
    if (!st.isFile() || (st.mode & 0o111) === 0) return false;
    const b = Buffer.alloc(4);
    const n = readSync(fd, b, 0, 4, 0);
    if (n >= 2 && b[0] === 0x23 && b[1] === 0x21) return false;
    return !(n === 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46);
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
