/**
 * qmail-remote host sender recip [recip ...]
 *
 * Send the message on fd 0 to recip... at host by SMTP (qmail-remote(8)).
 * No options. Reads QMAILHOME/control/{helohost,me,smtproutes,
 * timeoutconnect,timeoutremote} and (beyond the original) control/tlsremote
 * (a number; non-zero turns on opportunistic STARTTLS, see
 * src/lib/remote/starttls.ts); DNS through DNSCACHEIP (ucspi/dns.ts);
 * queue/lock/tcpto for downed hosts.
 *
 * Output on fd 1: recipient reports (`r`/`h`/`s`) then one message report
 * (`K`/`Z`/`D`), each text ending in a NUL byte (src/lib/remote/deliver.ts).
 * Fewer than three arguments: `DI (qmail-remote) was invoked improperly.
 * (#5.3.5)` report. Exit 0 always (0 also when fd 1 is gone).
 *
 * The work is deliverRemote() in src/lib/remote/deliver.ts, which
 * qmail-rspawn may call in-process instead of running this program.
 */
import { readAll } from '../lib/fdio.ts';
import type { Ctx } from '../lib/program.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { deliverRemote, TEXT } from '../lib/remote/deliver.ts';
import { writeAll } from '../lib/strerr.ts';

/** The program (see the module comment): exit status as described there. */
export async function main(ctx: Ctx): Promise<number> {
  const out = (b: Buffer | string): number => {
    try {
      writeAll(1, b);
    } catch {
      /* qmail-remote: a failed write ends it with 0 */
    }
    return 0;
  };
  const args = ctx.argv.slice(1);
  if (args.length < 3) return out(Buffer.from(TEXT.usage + '\0', 'latin1'));
  const home = qmailHome(ctx.env);
  const message = readAll(0);
  if (message === undefined) return out(Buffer.from(TEXT.read + '\0', 'latin1'));
  const arg = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
  const report = await deliverRemote({
    host: arg(args[0]),
    sender: arg(args[1]),
    recipients: args.slice(2).map(arg),
    message,
    env: ctx.env,
    home,
  });
  return out(report);
}
