/**
 * mailsubj: send a mail message with a subject line (mailsubj(1)).
 *
 *     mailsubj subject recip ...
 *
 * Queues, through qmail-inject with recipients from the header,
 * `Subject: subject\nTo: recip ...\n\n` followed by the body read on
 * descriptor 0 (the original shell script's `echo` lines: the recipients
 * joined by single spaces; subject and recipients must already be valid
 * header text). Exit codes are qmail-inject's. Without any argument this
 * prints `mailsubj: usage: mailsubj subject recip ...` and exits 100 (the
 * original script's `shift` fails there).
 */
import { subCtx, type Ctx } from '../lib/program.ts';
import { usage } from '../lib/strerr.ts';
import { main as injectMain } from './qmail-inject.ts';

export async function main(ctx: Ctx): Promise<number> {
  const [, subject, ...recips] = ctx.argv;
  if (subject === undefined) usage('mailsubj', 'subject recip ...');
  const head = Buffer.from(`Subject: ${subject}\nTo:${recips.map((r) => ' ' + r).join('')}\n\n`, 'utf8');
  return injectMain(subCtx(ctx, ['qmail-inject'], ctx.env, head));
}
