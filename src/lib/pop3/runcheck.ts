/**
 * pop3/runcheck: running the check program of the checkpassword interface
 * (cr.yp.to/checkpwd/interface.html) as qmail-popup does: a real child
 * process with the connection on descriptors 0 and 1, the caller's
 * descriptor 2, and descriptor 3 the read end of a pipe carrying
 * `user\0password\0timestamp\0`; the caller waits for it to exit.
 *
 *   runCheck(argv, env, cwd, conn, creds) -> Promise<raw wait status>
 *
 * argv[0] is searched on env.PATH (execvp, as the original). A program that
 * cannot be started counts as exit 1 (the original's child does _exit(1)
 * when execvp fails), so the client hears `-ERR authorization failed`.
 * conn is the connection's descriptor (made blocking for the child). creds
 * is zeroed after it was written; a write failure (the child closed fd 3
 * early) is ignored: the child's exit status decides.
 */
import { spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { sys } from '../native.ts';
import { writeAll } from '../strerr.ts';
import { waitStatus } from '../ucspi/logline.ts';

/** Spawn the check program (see the module comment) and resolve with its raw wait status. */
export function runCheck(argv: string[], env: Record<string, string | undefined>, cwd: string, conn: number, creds: Buffer): Promise<number> {
  const [r, w] = sys.pipe();
  try {
    sys.nonblock(conn, false);
  } catch {
    /* a descriptor that refuses: the child copes or fails */
  }
  return new Promise((resolve) => {
    let done = false;
    const finish = (st: number): void => {
      if (!done) {
        done = true;
        resolve(st);
      }
    };
    let child;
    try {
      child = spawn(argv[0], argv.slice(1), { argv0: argv[0], env, cwd, stdio: [conn, conn, 'inherit', r] });
    } catch {
      child = undefined;
    }
    closeSync(r);
    if (!child || child.pid === undefined) {
      closeSync(w);
      creds.fill(0);
      child?.on('error', () => finish(1 << 8));
      if (!child) finish(1 << 8);
      return;
    }
    child.on('error', () => finish(1 << 8));
    child.on('exit', (code, signal) => finish(waitStatus(code, signal)));
    try {
      writeAll(w, creds);
    } catch {
      /* the child's exit status tells */
    }
    creds.fill(0);
    closeSync(w);
  });
}
