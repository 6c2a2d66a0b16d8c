/**
 * pathexec: D. J. Bernstein's pathexec (pathexec_run.c, pathexec_env.c in
 * daemontools 0.76; ../shared/FORMATS.md section 0): find a program on $PATH
 * and replace the current process with it (execve(2): same pid), passing an
 * environment edited in DJB's order.
 *
 * Public functions:
 *   applyEnv(env, edits)           -> `NAME=value` list for the child
 *   pathexecRun(file, argv, envp, path, exec)  the PATH search loop
 *   candidates(file, path), verdict(err)  its two rules, for callers that
 *                                  must run the loop themselves (fghack)
 *   pathexec(argv, env, edits?)    search + exec with the caller's PATH; throws
 *   inheritedFds(), keepInheritedFds()  which descriptors the process
 *                                  inherited; undo Node's close-on-exec
 *                                  marking of them before an exec
 *   prepareExec(argv, env, edits?), runPrepared(p)  the same in two steps,
 *                                  for changes made just before the exec
 *   execOrDie(prog, argv, env, edits?)  pathexec or `prog: fatal: unable to run
 *                                  ARGV0: <errstr>` and exit 111
 *
 * Errors: a failed exec throws the errno error of the attempt that counts
 * (`.code` = errno name, printed with errstr()). A program reports it as
 * `prog: fatal: unable to run PROG: <DJB phrase>`, exit 111.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { sys } from './native.ts';
import { errCode } from './errstr.ts';
import { die } from './strerr.ts';

/** One queued environment edit: set NAME to value, or remove NAME (value undefined). */
export interface EnvEdit {
  name: string;
  value?: string;
}

/** The caller's environment as an ordered `NAME=value` list (environ order). */
export function environ(env: Record<string, string | undefined>): string[] {
  const out: string[] = [];
  for (const k of Object.keys(env)) {
    const v = env[k];
    if (v !== undefined) out.push(`${k}=${v}`);
  }
  return out;
}

/**
 * The child's environment, edits applied as pathexec_env does: for each edit
 * in order, the first `NAME=` entry is removed (the last entry moves into its
 * slot), then `NAME=value` is appended when a value is given. So later edits
 * of the same name win, and order differs from a plain object merge.
 * env: the caller's environment (object in environ order, or a list).
 */
export function applyEnv(env: Record<string, string | undefined> | string[], edits: readonly EnvEdit[]): string[] {
  const e = Array.isArray(env) ? env.slice() : environ(env);
  for (const { name, value } of edits) {
    const pre = name + '=';
    for (let j = 0; j < e.length; j++) {
      if (e[j].startsWith(pre)) {
        const last = e.pop()!;
        if (j < e.length) e[j] = last;
        break;
      }
    }
    if (value !== undefined) e.push(pre + value);
  }
  return e;
}

const O_CLOEXEC = 0o2000000;

interface FdInfo {
  fd: number;
  /** readlink of /proc/self/fd/N: `pipe:[123]`, `socket:[4]`, a path... */
  link: string;
  flags: number;
}

/** The open descriptors as /proc/self/fd and fdinfo describe them ([] without /proc). */
function fdTable(): FdInfo[] {
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return [];
  }
  const info: FdInfo[] = [];
  for (const f of fds) {
    try {
      const link = readlinkSync(`/proc/self/fd/${f}`);
      const m = /\nflags:\s*([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${f}`, 'latin1'));
      if (m) info.push({ fd: Number(f), link, flags: parseInt(m[1], 8) });
    } catch {
      /* the directory's own descriptor, already closed */
    }
  }
  return info;
}

/**
 * Descriptors open when this module was loaded (program start, before the
 * program opened anything): fd -> link. Only these can have been inherited.
 */
const AT_START = new Map(fdTable().map((i) => [i.fd, i.link]));

/**
 * The descriptors this process inherited (as its original C counterpart
 * would have them open), ascending, each with whether Node marked it
 * close-on-exec. Node marks the descriptors it inherited close-on-exec at
 * startup (uv_disable_stdio_inheritance). Counted as inherited: descriptors
 * already open at program start (module load) and still the same object,
 * except Node's own: anon_inode descriptors (epoll, eventfd, io_uring...)
 * and pipes whose read and write ends are both open here (libuv's wake-up
 * pipes). So sockets and files the program opens itself are never passed
 * on by keepInheritedFds(); it must clear FD_CLOEXEC on those it means to
 * pass (setlock's lock).
 */
export function inheritedFds(): Array<{ fd: number; cloexec: boolean }> {
  const info = fdTable().filter((i) => AT_START.get(i.fd) === i.link);
  const pipeModes = new Map<string, Set<number>>();
  for (const i of info) {
    if (!i.link.startsWith('pipe:')) continue;
    const set = pipeModes.get(i.link) ?? new Set<number>();
    set.add(i.flags & 3);
    pipeModes.set(i.link, set);
  }
  return info
    .filter((i) => !i.link.startsWith('anon_inode:') && !(i.link.startsWith('pipe:') && pipeModes.get(i.link)!.size > 1))
    .map((i) => ({ fd: i.fd, cloexec: (i.flags & O_CLOEXEC) !== 0 }))
    .sort((x, y) => x.fd - y.fd);
}

/** Clear FD_CLOEXEC on every inherited descriptor (inheritedFds()). */
export function keepInheritedFds(): void {
  for (const { fd, cloexec } of inheritedFds()) {
    if (!cloexec) continue;
    try {
      sys.cloexec(fd, false);
    } catch {
      /* gone meanwhile */
    }
  }
}

/** An exec primitive: replaces the process or throws an errno error. */
export type ExecFn = (path: string, argv: string[], envp: string[]) => void;

/** Try each path in turn with DJB's rules (verdict); throws the error to report. */
function tryAll(paths: readonly string[], argv: string[], envp: string[], exec: ExecFn): never {
  let saved: unknown;
  let last: unknown;
  for (const p of paths) {
    try {
      exec(p, argv, envp);
      throw new Error('exec returned');
    } catch (e) {
      if (errCode(e) === undefined) throw e;
      last = e;
      const v = verdict(e);
      if (v !== 'next') saved = e;
      if (v === 'stop') break;
    }
  }
  throw saved ?? last;
}

/**
 * pathexec_run: exec `file` (a name containing `/` directly; otherwise each
 * element of `path` in turn, an empty element meaning `.`, `/bin:/usr/bin`
 * when path is undefined). ENOENT goes on to the next element; EACCES, EPERM
 * and EISDIR are remembered and the search goes on; any other error stops it.
 * Throws the remembered error if any, else the last one. `exec` is the
 * primitive (sys.execve after keepInheritedFds(), as pathexec() does it).
 */
export function pathexecRun(file: string, argv: string[], envp: string[], path: string | undefined, exec: ExecFn): never {
  return tryAll(candidates(file, path), argv, envp, exec);
}

/**
 * The paths pathexec_run tries for file, in order: file itself if it
 * contains `/`, else DIR/file for each element of path (`.` for an empty
 * element; `/bin:/usr/bin` when path is undefined).
 */
export function candidates(file: string, path: string | undefined): string[] {
  if (file.includes('/')) return [file];
  return (path ?? '/bin:/usr/bin').split(':').map((d) => `${d === '' ? '.' : d}/${file}`);
}

/**
 * What a failed exec attempt means for the search: 'next' (ENOENT: not
 * remembered), 'remember' (EACCES, EPERM, EISDIR: remembered, go on) or
 * 'stop' (anything else: report it now).
 */
export function verdict(e: unknown): 'next' | 'remember' | 'stop' {
  const c = errCode(e);
  if (c === 'ENOENT') return 'next';
  if (c === 'EACCES' || c === 'EPERM' || c === 'EISDIR') return 'remember';
  return 'stop';
}

/** An exec made ready in advance: everything computed, nothing left to allocate much. */
export interface PreparedExec {
  candidates: string[];
  argv: string[];
  envp: string[];
}

/**
 * Everything pathexec needs, computed now (paths to try, the child's
 * environment, inherited descriptors made inheritable again), so that
 * runPrepared() does little more than execve(2) calls. For programs that
 * must change the process (resource limits) between preparing and exec'ing.
 */
export function prepareExec(argv: string[], env: Record<string, string | undefined>, edits: readonly EnvEdit[] = []): PreparedExec {
  keepInheritedFds();
  return { candidates: candidates(argv[0], env.PATH), argv, envp: applyEnv(env, edits) };
}

/** The search loop of pathexecRun over prepared paths; throws the error to report. */
export function runPrepared(p: PreparedExec): never {
  return tryAll(p.candidates, p.argv, p.envp, sys.execve);
}

/**
 * Exec argv[0] (found on the caller's PATH, env.PATH, as DJB's pathexec uses
 * getenv before applying edits) with argv and env + edits. Never returns;
 * throws the exec error.
 */
export function pathexec(argv: string[], env: Record<string, string | undefined>, edits: readonly EnvEdit[] = []): never {
  return runPrepared(prepareExec(argv, env, edits));
}

/**
 * pathexec, or `prog: fatal: unable to run ARGV0: <errstr>` and exit 111
 * (throws strerr's Exit). The usual last line of an exec-chaining main.
 */
export function execOrDie(prog: string, argv: string[], env: Record<string, string | undefined>, edits: readonly EnvEdit[] = []): never {
  try {
    pathexec(argv, env, edits);
  } catch (e) {
    die(prog, 111, `unable to run ${argv[0]}`, e);
  }
}
