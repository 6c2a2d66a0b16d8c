/**
 * chain: how an exec-chaining program (rblsmtpd ... qmail-smtpd, and any
 * ucspi program that ends by running "the rest of argv") hands the
 * connection on, both as a real process and in-process under tcpserver.
 *
 *   runNext(prog, ctx, argv, edits?)
 *
 * - As a real process (no session, see inprocess.ts): DJB's pathexec, a real
 *   execve (same pid), argv[0] searched on ctx.env.PATH; never returns.
 *   Failure: `PROG: fatal: unable to run ARGV0: <errstr>`, exit 111.
 * - In-process (ctx belongs to a tcpserver session): argv[0] is searched on
 *   ctx.env.PATH the same way; if it is one of our opted-in programs its main
 *   runs in this process with the same streams and session, argv, and
 *   ctx.env + edits (pathexec_env order); its exit status is returned. Any
 *   other program is spawned (child.ts: posix_spawn on the threadpool, no
 *   fork of Node) with
 *   the connection's socket as fds 0 and 1 and fd 2 inherited, and its exit
 *   status returned (a signal death is recorded
 *   as the session's raw wait status, so tcpserver's `end` line shows it).
 *   The caller must not have read from ctx.stdin (bytes libuv buffered would
 *   not reach the spawned program); the socket is paused and made blocking
 *   for the child.
 *
 * findProgram(file, path) is the PATH search alone (pathexec_run's rules,
 * probing with stat/access instead of execve): the path to run, or throws
 * the errno error (ENOENT, EACCES) pathexec would report.
 */
import { accessSync, constants, statSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Ctx } from './program.ts';
import { applyEnv, execOrDie, pathexecRun, type EnvEdit } from './pathexec.ts';
import { bindSession, inProcessMain, sessionOf } from './inprocess.ts';
import { die } from './strerr.ts';
import { sys } from './native.ts';
import { startChild } from './child.ts';

class Found {
  readonly path: string;
  constructor(path: string) {
    this.path = path;
  }
}

function errnoError(code: string): Error {
  return Object.assign(new Error(code), { code });
}

/** Undefined when path could be exec'd, else the errno error execve would give. */
function execError(path: string): Error | undefined {
  let st;
  try {
    st = statSync(path, { throwIfNoEntry: false });
  } catch (e) {
    return errnoError((e as NodeJS.ErrnoException).code ?? 'ENOENT');
  }
  if (st === undefined) return errnoError('ENOENT');
  if (!st.isFile()) return errnoError('EACCES');
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return errnoError('EACCES');
  }
  return undefined;
}

/** Throws Found when path could be exec'd, else the errno error execve would give. */
function probe(path: string): void {
  throw execError(path) ?? new Found(path);
}

/** The path pathexec would run for file on path (see the module comment). */
export function findProgram(file: string, path: string | undefined): string {
  // a name with a slash is the one candidate (pathexec.ts candidates): no search, no throw
  if (file.includes('/')) {
    const e = execError(file);
    if (e) throw e;
    return file;
  }
  try {
    pathexecRun(file, [file], [], path, probe);
  } catch (e) {
    if (e instanceof Found) return e.path;
    throw e;
  }
  throw errnoError('ENOENT');
}

/** An env object in the order of a `NAME=value` list. */
export function envObject(envp: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (const kv of envp) {
    const i = kv.indexOf('=');
    o[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return o;
}

/** The socket's file descriptor (libuv's), or undefined. */
export function socketFd(s: Socket): number | undefined {
  const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * Start path (argv, envp as `NAME=value` strings) with the connection fd on
 * its fds 0/1 (made blocking; fd 2 inherited) through child.ts's
 * startChild (posix_spawn on the threadpool); resolves with the raw wait
 * status, rejects with the spawn/exec error (ENOENT, EACCES, ENOEXEC...).
 * onPid is called with the child's pid as soon as it runs; fd must stay
 * open until then (onPid may close it).
 */
export async function spawnOnFd(path: string, argv: string[], envp: string[], fd: number, onPid?: (pid: number) => void): Promise<number> {
  sys.nonblock(fd, false);
  const child = await startChild(path, argv, envp, fd);
  onPid?.(child.pid);
  return child.exited;
}

/** Run the rest of the chain (see the module comment); `prog` names the caller in messages. */
export async function runNext(prog: string, ctx: Ctx, argv: string[], edits: readonly EnvEdit[] = []): Promise<number> {
  const session = sessionOf(ctx);
  if (!session) execOrDie(prog, argv, ctx.env, edits);
  let path: string;
  try {
    path = findProgram(argv[0], ctx.env.PATH);
  } catch (e) {
    die(prog, 111, `unable to run ${argv[0]}`, e);
  }
  const envp = applyEnv(ctx.env, edits);
  const main = await inProcessMain(path);
  if (main) {
    const next: Ctx = { argv, env: envObject(envp), cwd: ctx.cwd, stdin: ctx.stdin, stdout: ctx.stdout, stderr: ctx.stderr };
    bindSession(next, session);
    return main(next);
  }
  const fd = socketFd(session.socket);
  if (fd === undefined) die(prog, 111, `unable to run ${argv[0]}`, errnoError('EBADF'));
  session.socket.pause();
  let w: number;
  try {
    w = await spawnOnFd(path, argv, envp, fd);
  } catch (e) {
    die(prog, 111, `unable to run ${argv[0]}`, e);
  }
  if ((w & 0x7f) !== 0) session.waitStatus = w;
  return (w >> 8) & 255;
}
