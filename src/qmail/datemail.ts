/**
 * datemail: sendmail with a Date line in local time (qmail's datemail:
 * `predate sendmail "$@"`). Puts `Date: D Mon YYYY HH:MM:SS +HHMM` (local
 * time as TZ selects it; inject/predate.ts) in front of the message read on
 * descriptor 0, then does what sendmail does with the same arguments
 * (in-process). Exit codes are sendmail's. Deviation: with -bp/-bs the
 * date line is not fed to the exec'd program (the original's predate would
 * pipe it into qmail-qread/qmail-smtpd).
 */
import { subCtx, type Ctx } from '../lib/program.ts';
import { predateLine } from '../lib/inject/predate.ts';
import { main as sendmailMain } from './sendmail.ts';

export async function main(ctx: Ctx): Promise<number> {
  const date = Buffer.from(predateLine(Date.now() / 1000, ctx.env.TZ), 'latin1');
  return sendmailMain(subCtx(ctx, ['sendmail', ...ctx.argv.slice(1)], ctx.env, date));
}
