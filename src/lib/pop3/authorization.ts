/**
 * pop3/authorization: the AUTHORIZATION state of a POP3 session (RFC 1939
 * section 4) as qmail-popup(8) runs it: greet with an APOP timestamp, take
 * USER/PASS or APOP, and hand the credentials to a check program.
 *
 * Greeting: `+OK <PID.TIME@HOSTNAME>` (PID of the process, or the tcpserver
 * session's pseudo-pid in-process; TIME in seconds since the epoch).
 * Commands (case-insensitive; the original's replies):
 *   USER name     `+OK ` (`-ERR syntax error` when name is empty)
 *   PASS secret   `-ERR USER first` before USER, `-ERR syntax error` when
 *                 empty; else the credentials are handed on (see below)
 *   APOP name digest  `-ERR syntax error` without a space; else handed on
 *   NOOP          `+OK `
 *   QUIT          `+OK `, then the session ends
 *   CAPA          (RFC 2449; an addition) `+OK capability list follows`,
 *                 TOP, UIDL, USER, IMPLEMENTATION qmail-ts, `.`
 *   anything else `-ERR authorization first`
 *   a line longer than command.ts MAX_LINE: `-ERR line too long` (addition)
 * End of input or 1200 seconds without a line end the session.
 *
 * Credentials (checkpassword interface): `USER\0PASSWORD\0<PID.TIME@HOST>\0`
 * written to the check program's descriptor 3. After it exits: a crash
 * (signal) answers `-ERR aack, child crashed`, a non-zero exit `-ERR
 * authorization failed`; either way the session is over (one attempt per
 * connection, as the original). The password bytes are zeroed once written.
 *
 * Public:
 *   greeting(pid, nowSec, hostname) -> timestamp string `<...>`
 *   credentials(user, pass, stamp) -> Buffer
 *   authorize(lines, write, stamp) -> Promise<Buffer | null>
 *       runs the dialogue; the credentials to hand on, or null when the
 *       session ended without them (QUIT, end of input, timeout)
 *   verdict(waitStatus) -> the error line to send after the check, or ''
 */
import type { LineReader } from './command.ts';

/** The APOP timestamp qmail-popup announces: `<PID.TIME@HOSTNAME>`. */
export function greeting(pid: number, nowSec: number, hostname: string): string {
  return `<${pid}.${nowSec}@${hostname}>`;
}

/** `user\0pass\0stamp\0` as bytes (latin1: each char of user/pass is one byte). */
export function credentials(user: string, pass: string, stamp: string): Buffer {
  return Buffer.concat([Buffer.from(user, 'latin1'), Buffer.from([0]), Buffer.from(pass, 'latin1'), Buffer.from([0]), Buffer.from(stamp, 'latin1'), Buffer.from([0])]);
}

const CAPA = '+OK capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\nIMPLEMENTATION qmail-ts\r\n.\r\n';

/**
 * Run the AUTHORIZATION dialogue (see the module comment). write(text) sends
 * a reply and may throw when the client is gone (the caller ends the session).
 */
export async function authorize(lines: LineReader, write: (text: string) => Promise<void>, stamp: string): Promise<Buffer | null> {
  let user: string | undefined;
  for (;;) {
    const c = await lines.next();
    if (c === null) return null;
    if (c.overlong) {
      await write('-ERR line too long\r\n');
      continue;
    }
    switch (c.verb.toLowerCase()) {
      case 'user':
        if (c.arg === '') await write('-ERR syntax error\r\n');
        else {
          await write('+OK \r\n');
          user = c.arg;
        }
        break;
      case 'pass':
        if (user === undefined) await write('-ERR USER first\r\n');
        else if (c.arg === '') await write('-ERR syntax error\r\n');
        else return credentials(user, c.arg, stamp);
        break;
      case 'apop': {
        const sp = c.arg.indexOf(' ');
        if (sp < 0) await write('-ERR syntax error\r\n');
        else return credentials(c.arg.slice(0, sp), c.arg.slice(sp + 1), stamp);
        break;
      }
      case 'quit':
        await write('+OK \r\n');
        return null;
      case 'noop':
        await write('+OK \r\n');
        break;
      case 'capa':
        await write(CAPA);
        break;
      default:
        await write('-ERR authorization first\r\n');
    }
  }
}

/** The line qmail-popup sends after the check program ended with raw wait status w ('' for exit 0). */
export function verdict(w: number): string {
  if ((w & 0x7f) !== 0) return '-ERR aack, child crashed\r\n';
  if ((w >> 8) & 0xff) return '-ERR authorization failed\r\n';
  return '';
}
