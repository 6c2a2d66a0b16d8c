/**
 * pathexec: D. J. Bernstein's pathexec (pathexec_run.c, pathexec_env.c in
 * daemontools 0.76; ../shared/FORMATS.md section 0): find a program on $PATH
 * and replace the current process with it (execve(2): same pid), passing an
 * environment edited in DJB's order.
 *
 * Public functions:
 *   applyEnv(env, edits)           -> `NAME=value` list for the child
 *   pathexecRun(file, argv, envp, path, exec?)  the PATH search loop
 *   pathexec(argv, env, edits?)    search + exec with the caller's PATH; throws
 *   execOrDie(prog, argv, env, edits?)  pathexec or `prog: fatal: unable to run
 *                                  ARGV0: <errstr>` and exit 111
 *
 * Errors: a failed exec throws the errno error of the attempt that counts
 * (`.code` = errno name, printed with errstr()). A program reports it as
 * `prog: fatal: unable to run PROG: <DJB phrase>`, exit 111.
 */
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

/** An exec primitive: replaces the process or throws an errno error. */
export type ExecFn = (path: string, argv: string[], envp: string[]) => void;

/**
 * pathexec_run: exec `file` (a name containing `/` directly; otherwise each
 * element of `path` in turn, an empty element meaning `.`, `/bin:/usr/bin`
 * when path is undefined). ENOENT goes on to the next element; EACCES, EPERM
 * and EISDIR are remembered and the search goes on; any other error stops it.
 * Throws the remembered error if any, else the last one. `exec` defaults to
 * execve(2) (sys.execve); fghack passes a spawning primitive.
 */
export function pathexecRun(file: string, argv: string[], envp: string[], path: string | undefined, exec: ExecFn = sys.execve): never {
  if (file.includes('/')) {
    exec(file, argv, envp);
    throw new Error('exec returned');
  }
  const dirs = (path ?? '/bin:/usr/bin').split(':');
  let saved: unknown;
  let last: unknown;
  for (const d of dirs) {
    try {
      exec(`${d === '' ? '.' : d}/${file}`, argv, envp);
      throw new Error('exec returned');
    } catch (e) {
      const c = errCode(e);
      if (c === undefined) throw e;
      last = e;
      if (c !== 'ENOENT') {
        saved = e;
        if (c !== 'EACCES' && c !== 'EPERM' && c !== 'EISDIR') throw e;
      }
    }
  }
  throw saved ?? last;
}

/**
 * Exec argv[0] (found on the caller's PATH, env.PATH, as DJB's pathexec uses
 * getenv before applying edits) with argv and env + edits. Never returns;
 * throws the exec error.
 */
export function pathexec(argv: string[], env: Record<string, string | undefined>, edits: readonly EnvEdit[] = []): never {
  return pathexecRun(argv[0], argv, applyEnv(env, edits), env.PATH);
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
