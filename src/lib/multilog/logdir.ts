/**
 * multilog/logdir: one automatically rotated log directory (multilog(8)
 * "AUTOMATICALLY ROTATED LOGS"; FORMATS.md section 5): start-up and
 * recovery, appending to `current`, rotation ("fullcurrent"), the processor,
 * saving finished files as `@<TAI64N>.s` / `.u` and keeping at most NUM-1 of
 * them.
 *
 * Directory layout kept byte-compatible with daemontools 0.76: `lock`
 * (flock'ed, 0600), `current` (0644 while written, 0744 once safely closed),
 * `state`/`newstate` (processor state, fds 4/5), `previous`/`processed`
 * (a full `current` before/after its processor), `@` + 24 hex + `.s`/`.u`.
 *
 * Start-up failures are fatal (`multilog: fatal: ...`, exit 111, via
 * strerr.die); once running, every failing system call is retried every 5 s
 * with `multilog: warning: ..., pausing: ...` (pause.ts).
 */
import type { Stats } from 'node:fs';
import { fs } from '../nodefs.ts';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { die, errline } from '../strerr.ts';
import { errCode, errstr } from '../errstr.ts';
import { sys, LOCK_EX, LOCK_NB } from '../native.ts';
import { format, now } from '../tai64.ts';
import type { DirSpec } from './script.ts';
import type { Sink } from './writer.ts';
import { noteError, lastError, pauseWarn, persist } from './pause.ts';

const {
  chmodSync,
  closeSync,
  constants: C,
  fchmodSync,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} = fs;

const PROG = 'multilog';
/** node:child_process, loaded only when a processor runs (keeps an idle multilog small). */
let childProcess: typeof import('node:child_process') | undefined;
function spawnSync(...args: Parameters<typeof import('node:child_process').spawnSync>): ReturnType<typeof import('node:child_process').spawnSync> {
  childProcess ??= createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  return childProcess.spawnSync(...args);
}
/** open_append: O_WRONLY|O_NONBLOCK|O_APPEND|O_CREAT, mode 0600 */
const APPEND = C.O_WRONLY | C.O_NONBLOCK | C.O_APPEND | C.O_CREAT;
/** open_trunc: O_WRONLY|O_NONBLOCK|O_TRUNC|O_CREAT, mode 0644 */
const TRUNC = C.O_WRONLY | C.O_NONBLOCK | C.O_TRUNC | C.O_CREAT;
const READ = C.O_RDONLY | C.O_NONBLOCK;

/** stat(path), or undefined if it does not exist; other errors thrown. */
function statOrNone(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    if (errCode(e) === 'ENOENT') {
      noteError(e);
      return undefined;
    }
    throw e;
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    noteError(e);
  }
}

/** A log directory: start() once, then write()/rotate() from LogWriter, close() at the end. */
export class LogDir implements Sink {
  readonly spec: DirSpec;
  /** absolute path of the directory */
  readonly abs: string;
  private readonly env: Record<string, string | undefined>;
  /** fd of `current`, -1 before start() */
  private fd = -1;
  /** size of `current` found at start-up (bytes) */
  startBytes = 0;

  /** spec: from the script; cwd: what relative dirs are resolved against; env: the processor's environment. */
  constructor(spec: DirSpec, cwd: string, env: Record<string, string | undefined>) {
    this.spec = spec;
    this.abs = resolve(cwd, spec.path);
    this.env = env;
  }

  private p(name: string): string {
    return `${this.abs}/${name}`;
  }

  /**
   * Create, lock and recover the directory. Fatal (exit 111):
   * `unable to open directory DIR`, `unable to lock directory DIR`,
   * `unable to stat DIR/FILE`, `unable to write to DIR/state|current`,
   * `unable to set mode of DIR/current`.
   */
  start(): void {
    const dir = this.spec.path;
    try {
      mkdirSync(this.abs, 0o700);
    } catch (e) {
      noteError(e);
    }
    try {
      closeSync(openSync(this.abs, READ | C.O_DIRECTORY));
    } catch (e) {
      die(PROG, 111, `unable to open directory ${dir}`, e);
    }
    try {
      const lock = openSync(this.p('lock'), APPEND, 0o600);
      sys.flock(lock, LOCK_EX | LOCK_NB); // kept open (close-on-exec) for our lifetime
    } catch (e) {
      die(PROG, 111, `unable to lock directory ${dir}`, e);
    }
    const stat = (name: string): Stats | undefined => {
      try {
        return statOrNone(this.p(name));
      } catch (e) {
        die(PROG, 111, `unable to stat ${dir}/${name}`, e);
      }
    };
    const cur = stat('current');
    if (cur && cur.mode & 0o100) {
      try {
        this.fd = openSync(this.p('current'), APPEND, 0o600);
      } catch (e) {
        die(PROG, 111, `unable to open ${dir}/current`, e);
      }
      try {
        fchmodSync(this.fd, 0o644);
      } catch (e) {
        die(PROG, 111, `unable to set mode of ${dir}/current`, e);
      }
      this.startBytes = fstatSync(this.fd).size;
      return;
    }
    unlinkQuiet(this.p('state'));
    unlinkQuiet(this.p('newstate'));
    const processed = stat('processed');
    if (processed && processed.mode & 0o100) {
      unlinkQuiet(this.p('previous'));
      this.finish('processed', 's');
    } else {
      unlinkQuiet(this.p('processed'));
      if (stat('previous')) this.finish('previous', 'u');
    }
    if (stat('current')) this.finish('current', 'u');
    try {
      closeSync(openSync(this.p('state'), TRUNC, 0o644));
    } catch (e) {
      die(PROG, 111, `unable to write to ${dir}/state`, e);
    }
    try {
      this.fd = openSync(this.p('current'), APPEND, 0o600);
    } catch (e) {
      die(PROG, 111, `unable to write to ${dir}/current`, e);
    }
    try {
      fchmodSync(this.fd, 0o644);
    } catch (e) {
      die(PROG, 111, `unable to set mode of ${dir}/current`, e);
    }
    this.startBytes = 0;
  }

  /** Append data[start, end) to `current`; pauses and retries on any error. */
  write(data: Uint8Array, start: number, end: number): void {
    while (start < end) {
      try {
        start += writeSync(this.fd, data, start, end - start);
      } catch (e) {
        if (errCode(e) === 'EAGAIN') continue;
        pauseWarn(`unable to write to ${this.spec.path}/current`, e);
      }
    }
  }

  /** fullcurrent(): close `current` safely, rename it `previous`, start a new one, process/save. */
  rotate(): void {
    const dir = this.spec.path;
    persist(`unable to fsync ${dir}/current`, () => fsyncSync(this.fd));
    closeSync(this.fd);
    persist(`unable to rename ${dir}/current to previous`, () => renameSync(this.p('current'), this.p('previous')));
    this.fd = persist(`unable to create ${dir}/current`, () => openSync(this.p('current'), APPEND, 0o600));
    persist(`unable to set mode of ${dir}/current`, () => fchmodSync(this.fd, 0o644));
    persist(`unable to set mode of ${dir}/previous`, () => chmodSync(this.p('previous'), 0o744));
    if (this.spec.processor === undefined) this.finish('previous', 's');
    else this.process(this.spec.processor);
  }

  /** At EOF/TERM: fsync `current` and mark it complete (0744). */
  close(): void {
    const dir = this.spec.path;
    persist(`unable to fsync ${dir}/current`, () => fsyncSync(this.fd));
    persist(`unable to set mode of ${dir}/current`, () => fchmodSync(this.fd, 0o744));
  }

  /**
   * Run the processor until it exits 0 (a non-zero exit: `processor failed in
   * DIR, pausing`; killed by a signal: `processor crashed in DIR, pausing: ...`
   * first; 5 s pause after each): `sh -c processor` in the directory,
   * fd 0 `previous`, 1 `processed` (truncated), 4 `state`, 5 `newstate`
   * (truncated). Then make `processed` and `newstate` safe, drop `previous`,
   * rename `newstate` to `state` and save `processed` as `.s`.
   */
  private process(processor: string): void {
    const dir = this.spec.path;
    for (;;) {
      const fds: number[] = [];
      let opened = true;
      for (const [name, flags, mode] of [
        ['previous', READ, 0],
        ['processed', TRUNC, 0o644],
        ['state', READ, 0],
        ['newstate', TRUNC, 0o644],
      ] as const) {
        try {
          fds.push(openSync(this.p(name), flags, mode));
        } catch (e) {
          // the C program opens these in the child, which then dies
          errline(`${PROG}: fatal: unable to ${flags === READ ? 'open' : 'create'} ${dir}/${name}: ${errstr(e)}`);
          opened = false;
          break;
        }
      }
      let ok = false;
      if (opened) {
        const r = spawnSync('/bin/sh', ['-c', processor], {
          argv0: 'sh',
          cwd: this.abs,
          env: this.env,
          stdio: [fds[0], fds[1], 'inherit', 'ignore', fds[2], fds[3]],
        });
        if (r.error) {
          for (const fd of fds) closeSync(fd);
          pauseWarn(`unable to fork for processor in ${dir}`, r.error);
          continue;
        }
        // a crash is reported (with a stale errno, as the C program does), then also counts as a failure
        if (r.signal) pauseWarn(`processor crashed in ${dir}`, lastError);
        else ok = r.status === 0;
      }
      for (const fd of fds) closeSync(fd);
      if (ok) break;
      pauseWarn(`processor failed in ${dir}`);
    }
    this.makeSafe('processed', true);
    this.makeSafe('newstate', false);
    persist(`unable to remove ${dir}/previous`, () => unlinkSync(this.p('previous')));
    persist(`unable to rename ${dir}/newstate to state`, () => renameSync(this.p('newstate'), this.p('state')));
    this.finish('processed', 's');
  }

  /** fsync a processor output file (and chmod it 0744 if it is the log). */
  private makeSafe(name: string, log: boolean): void {
    const dir = this.spec.path;
    const fd = persist(`unable to open ${dir}/${name}`, () => openSync(this.p(name), APPEND, 0o600));
    persist(`unable to fsync ${dir}/${name}`, () => fsyncSync(fd));
    if (log) persist(`unable to set mode of ${dir}/${name}`, () => fchmodSync(fd, 0o744));
    closeSync(fd);
  }

  /**
   * Save FILE as `@<TAI64N now>.CODE` (hard link + unlink; a file with
   * more than one link is only unlinked), then delete the oldest `@` files
   * until fewer than NUM remain.
   */
  private finish(file: string, code: 's' | 'u'): void {
    const dir = this.spec.path;
    const path = this.p(file);
    let st: Stats | undefined;
    for (;;) {
      try {
        st = statOrNone(path);
        break;
      } catch (e) {
        pauseWarn(`unable to stat ${dir}/${file}`, e);
      }
    }
    if (!st) return;
    if (st.nlink === 1) {
      persist(`unable to link to ${dir}/${file}`, () => linkSync(path, this.p(`${format(now())}.${code}`)));
    }
    persist(`unable to remove ${dir}/${file}`, () => unlinkSync(path));
    while (!this.filesFit()) {
      /* one old file removed per pass */
    }
  }

  /** True if fewer than NUM old files exist; otherwise remove the oldest and return false. */
  private filesFit(): boolean {
    let names: string[];
    try {
      names = readdirSync(this.abs);
    } catch (e) {
      pauseWarn(`unable to read directory ${this.spec.path}`, e);
      return false;
    }
    let count = 0;
    let oldest: string | undefined;
    for (const n of names) {
      if (n[0] !== '@' || n.length < 25) continue;
      count++;
      if (oldest === undefined || n.slice(0, 25) < oldest.slice(0, 25)) oldest = n;
    }
    if (count < this.spec.num || oldest === undefined) return true;
    try {
      unlinkSync(this.p(oldest));
    } catch (e) {
      pauseWarn(`unable to remove ${this.spec.path}/${oldest}`, e);
    }
    return false;
  }
}
