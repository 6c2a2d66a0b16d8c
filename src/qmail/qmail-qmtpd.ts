/**
 * qmail-qmtpd: receive mail via QMTP (qmail-qmtpd(8)), under tcpserver
 * with the connection on its standard input and output; in-process inside
 * our tcpserver (exports inProcess: only ctx's streams and environment).
 * No arguments.
 *
 * Reads QMAILHOME/control/rcpthosts, morercpthosts.cdb (qmail-smtpd's
 * rules, src/lib/smtp/rcpthosts.ts) and databytes; environment:
 * RELAYCLIENT (appended to every recipient; no rcpthosts check), DATABYTES
 * (overrides control/databytes), TCPREMOTEHOST, TCPREMOTEINFO, TCPREMOTEIP,
 * TCPLOCALHOST, TCPLOCALIP (Received line), QMAILQUEUE. The conversation
 * is src/lib/qmtp/qmtpd.ts; messages are queued as src/lib/qmtp/submit.ts
 * says.
 *
 * Exit codes, as the original's: 0 when the client is done or gone; 100 on
 * a protocol violation; 111 when the qmail home or control files cannot be
 * read, or after an hour.
 */
import { accessSync, constants } from 'node:fs';
import type { Ctx } from '../lib/program.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { Control, scanUlong } from '../lib/control.ts';
import { newPseudoPid, sessionOf } from '../lib/inprocess.ts';
import { ByteReader } from '../lib/netstring.ts';
import { RcptHosts } from '../lib/smtp/rcpthosts.ts';
import { qmtpServe } from '../lib/qmtp/qmtpd.ts';
import { peerNames, runSession, writer } from '../lib/qmtp/serverenv.ts';
import { submit } from '../lib/qmtp/submit.ts';

export const inProcess = true;

/** The program (see the module comment): exit status as described there. */
export async function main(ctx: Ctx): Promise<number> {
  const home = qmailHome(ctx.env);
  let rcpthosts: RcptHosts;
  let databytes: number;
  try {
    accessSync(home, constants.X_OK);
    const c = new Control(home);
    c.me();
    rcpthosts = RcptHosts.load(c);
    databytes = c.readint('databytes') ?? 0;
  } catch {
    return 111;
  }
  if (ctx.env.DATABYTES !== undefined) databytes = scanUlong(ctx.env.DATABYTES) ?? 0;
  for (const s of [ctx.stdin, ctx.stdout]) if ('allowHalfOpen' in s) (s as { allowHalfOpen: boolean }).allowHalfOpen = true;
  const inSession = sessionOf(ctx) !== undefined;
  const reader = new ByteReader(ctx.stdin);
  return runSession(() =>
    qmtpServe(reader, {
      databytes,
      relayclient: ctx.env.RELAYCLIENT,
      rcpthosts,
      ...peerNames(ctx.env),
      queue: (m, e) => submit(ctx.env, home, inSession ? newPseudoPid() : process.pid, m, e),
      write: writer(ctx.stdout),
    }),
  );
}
