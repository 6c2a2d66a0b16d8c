/**
 * local/child: run a program the way qmail's small delivery helpers fork
 * and execvp one (preline, condredirect, bouncesaying, except): PATH search,
 * the caller's environment, the given stdio, and wait for it.
 *
 * Result: { code } when it exited, { crashed: true } when a signal killed
 * it, or { execError } when it could not be started (the errno name is the
 * error's .code; isTempErrno() tells 111 from 100 as error_temp() does).
 */
import { spawn, type StdioOptions } from 'node:child_process';
import type { Writable } from 'node:stream';

/** How a child ended. */
export type ChildEnd = { code: number } | { crashed: true } | { execError: unknown };

/** Start argv[0] with argv[1..]; `feed` may write the child's stdin when stdio[0] is 'pipe'. */
export function runChild(argv: string[], env: Record<string, string | undefined>, stdio: StdioOptions, feed?: (stdin: Writable) => void): Promise<ChildEnd> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (e: ChildEnd): void => {
      if (!settled) {
        settled = true;
        resolve(e);
      }
    };
    let child;
    try {
      child = spawn(argv[0], argv.slice(1), { env: env as NodeJS.ProcessEnv, stdio });
    } catch (e) {
      done({ execError: e });
      return;
    }
    child.on('error', (e) => done({ execError: e }));
    child.on('exit', (code, sig) => done(sig !== null || code === null ? { crashed: true } : { code }));
    if (feed && child.stdin) feed(child.stdin);
  });
}
