/**
 * rblsmtpd [-bBcC] [-t timeout] [-r base] [-a base] program [arg...]
 *
 * Blocks SMTP from clients listed in RBLs (rblsmtpd(1), ucspi-tcp 0.88 as
 * Debian ships it: no default RBL; ../shared/FORMATS.md section 10). The
 * decision and the conversation are in src/lib/ucspi/rbl.ts. Accepted
 * clients: program runs with the connection (as a real process: execve,
 * same pid; in-process under tcpserver: src/lib/chain.ts). Rejected clients:
 * logs `rblsmtpd: IP pid PID: MESSAGE` on stderr (PID = own pid, or the
 * tcpserver session's pseudo-pid in-process), then with -t0 writes
 * MESSAGE CRLF and exits 0, else holds the SMTP conversation until QUIT, EOF
 * or `timeout` seconds (default 60) of silence, exit 0.
 *
 * DNS goes to $DNSCACHEIP (else resolv.conf's servers).
 * Exit: 100 usage (`rblsmtpd: usage: rblsmtpd [ -b ] [ -R ] [ -t timeout ]
 * [ -r base ] [ -a base ] smtpd [ arg ... ]`, the original's text);
 * 111 `rblsmtpd: fatal: unable to run PROG: <err>`; else the program's.
 *
 * In-process capable (exports inProcess): uses only ctx's streams and env.
 */
import type { Ctx } from '../src/lib/program.ts';
import { sgetopt } from '../src/lib/sgetopt.ts';
import { usage } from '../src/lib/strerr.ts';
import { pidOf } from '../src/lib/inprocess.ts';
import { runNext } from '../src/lib/chain.ts';
import { scanUlong } from '../src/lib/ucspi/hostport.ts';
import { converse, decide, rejectMessage, type Step } from '../src/lib/ucspi/rbl.ts';

export const inProcess = true;

const USAGE = '[ -b ] [ -R ] [ -t timeout ] [ -r base ] [ -a base ] smtpd [ arg ... ]';

export async function main(ctx: Ctx): Promise<number> {
  const p = sgetopt('rblsmtpd', ctx.argv.slice(1), 'bBcCt:r:a:');
  const steps: Step[] = [];
  let bounce = false;
  let failClosed = false;
  let timeout = 60;
  for (const o of p.opts) {
    switch (o.opt) {
      case 'b': bounce = true; break;
      case 'B': bounce = false; break;
      case 'c': failClosed = true; break;
      case 'C': failClosed = false; break;
      case 't': timeout = scanUlong(o.arg ?? '')[0]; break;
      case 'r': case 'a': steps.push({ kind: o.opt, base: o.arg ?? '', bounce, failClosed }); break;
      default: usage('rblsmtpd', USAGE);
    }
  }
  // the original looks up while parsing, so a usage error comes after the lookups
  const d = await decide(steps, ctx.env);
  if (p.rest.length === 0) usage('rblsmtpd', USAGE);
  if (d.accept) return runNext('rblsmtpd', ctx, p.rest);

  const message = rejectMessage(d);
  ctx.stderr.write(`rblsmtpd: ${ctx.env.TCPREMOTEIP ?? ''} pid ${pidOf(ctx)}: ${message}\n`);
  if (timeout === 0) {
    await new Promise<void>((r) => ctx.stdout.write(`${message}\r\n`, () => r()));
    return 0;
  }
  await converse(ctx.stdin, ctx.stdout, message, timeout);
  return 0;
}
