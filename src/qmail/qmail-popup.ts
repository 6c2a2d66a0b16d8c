/**
 * qmail-popup hostname subprogram [arg...]
 *
 * Reads a POP username and password from the network (qmail-popup(8),
 * notqmail): descriptor 0 reads from and 1 writes to the client. Greets with
 * `+OK <PID.TIME@hostname>`, takes USER/PASS or APOP (the dialogue and the
 * reply texts are in src/lib/pop3/authorization.ts), then runs subprogram
 * (normally `/bin/checkpassword qmail-pop3d Maildir`) with descriptors 0 and
 * 1 the connection and descriptor 3 reading `user\0password\0<PID.TIME@
 * hostname>\0`, waits for it, and prints `-ERR aack, child crashed` or
 * `-ERR authorization failed` if it crashed or exited non-zero.
 * 20-minute idle timeout.
 *
 * Exit status: always 1, as the original's die() (`_exit(1)`): after QUIT,
 * end of input, timeout, a failed or a successful check alike. Usage error:
 * `-ERR usage: popup hostname subprogram` on descriptor 1, exit 1.
 *
 * In-process capable (exports inProcess): under our tcpserver the dialogue
 * runs on the session's socket in tcpserver's process (no Node start per
 * connection), and only the check program, which must become the user, is a
 * real process, spawned with the socket as its descriptors 0 and 1 (see
 * src/lib/pop3/runcheck.ts). As a real process it reads fd 0 with read(2)
 * and writes fd 1 directly, never through process.stdin (whose non-blocking
 * mode the child would inherit). In both modes reading stops after the line
 * that completes the credentials; bytes a client pipelined past it are lost,
 * as with the original, which is why CAPA does not offer PIPELINING.
 */
import type { Ctx } from '../lib/program.ts';
import { writeAll } from '../lib/strerr.ts';
import { pidOf, sessionOf } from '../lib/inprocess.ts';
import { socketFd } from '../lib/chain.ts';
import { LineReader, fdSource, streamSource } from '../lib/pop3/command.ts';
import { authorize, greeting, verdict } from '../lib/pop3/authorization.ts';
import { runCheck } from '../lib/pop3/runcheck.ts';
import { sys } from '../lib/native.ts';

export const inProcess = true;

/** The original's idle timeout, seconds. */
const TIMEOUT = 1200;

class Gone extends Error {}

/** tcpserver's libuv expects its socket non-blocking again once the child is done with it. */
function restoreNonblock(fd: number): void {
  try {
    sys.nonblock(fd, true);
  } catch {
    /* closed meanwhile */
  }
}

export async function main(ctx: Ctx): Promise<number> {
  const session = sessionOf(ctx);
  const write = session
    ? (text: string): Promise<void> =>
        new Promise((resolve, reject) => {
          if (ctx.stdout.destroyed) return reject(new Gone());
          ctx.stdout.write(Buffer.from(text, 'latin1'), (e) => (e ? reject(new Gone()) : resolve()));
        })
    : async (text: string): Promise<void> => {
        try {
          writeAll(1, Buffer.from(text, 'latin1'));
        } catch {
          throw new Gone();
        }
      };
  const hostname = ctx.argv[1];
  const childArgs = ctx.argv.slice(2);
  try {
    if (hostname === undefined || childArgs.length === 0) {
      await write('-ERR usage: popup hostname subprogram\r\n');
      return 1;
    }
    const stamp = greeting(pidOf(ctx), Math.floor(Date.now() / 1000), hostname);
    await write(`+OK ${stamp}\r\n`);
    const lines = new LineReader(session ? streamSource(ctx.stdin) : fdSource(0), TIMEOUT);
    const creds = await authorize(lines, write, stamp);
    lines.close();
    if (!creds) return 1;
    const conn = session ? socketFd(session.socket) : 0;
    if (conn === undefined) return 1;
    const w = await runCheck(childArgs, ctx.env, ctx.cwd, conn, creds);
    if (session) restoreNonblock(conn);
    const line = verdict(w);
    if (line) await write(line);
    return 1;
  } catch (e) {
    if (e instanceof Gone) return 1;
    throw e;
  }
}
