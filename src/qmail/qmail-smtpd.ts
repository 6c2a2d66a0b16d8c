/**
 * qmail-smtpd: receive mail via SMTP (qmail-smtpd(8) of notqmail).
 *
 * Runs under tcpserver with the connection on its standard input and
 * output: in-process inside our tcpserver (exports inProcess; ctx's streams
 * and environment only) or as a real process (Debian's tcpserver, fds 0/1).
 * No arguments. Reads its control files from $QMAILHOME/control (default
 * /var/qmail; src/lib/smtp/config.ts) and TCP* / RELAYCLIENT / DATABYTES
 * from the environment; the conversation is src/lib/smtp/session.ts.
 * Messages go to the queue as src/lib/queue/client.ts routes them: written
 * in-process when $QMAILQUEUE is unset and this process may write the queue,
 * else $QMAILQUEUE or bin/qmail-queue run as a program started at DATA;
 * either way the message streams from the start of DATA, as the original
 * pipes into qmail-queue. The reply's `qp` is the queueing process's pid
 * (in-process: a fresh pseudo-pid under tcpserver, else our pid; it is also
 * the pid in qmail-queue's Received line and intd's `p`).
 *
 * Beyond the original, behind control files (default: qmail's behaviour):
 * STARTTLS with control/servercert.pem, AUTH PLAIN/LOGIN checked by the
 * checkpassword program named in control/checkpassword (setting RELAYCLIENT
 * for the session).
 *
 * Output: SMTP replies only (nothing on stderr). Exit status: 0 after QUIT;
 * 1 on EOF, timeout, a bare LF in DATA, a write failure, unreadable control
 * files (`421 unable to read controls (#4.3.0)`) or a limit (`421 out of
 * memory (#4.3.0)`), as the original's _exit(1).
 */
import type { Ctx } from '../lib/program.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { newPseudoPid, sessionOf } from '../lib/inprocess.ts';
import { canWriteQueue, runQueueProgram } from '../lib/queue/client.ts';
import { queueInject } from '../lib/queue/inject.ts';
import { qqReply } from '../lib/queue/qqcodes.ts';
import { binPath } from '../lib/root.ts';
import { loadConfig } from '../lib/smtp/config.ts';
import { SmtpOutput } from '../lib/smtp/output.ts';
import { R } from '../lib/smtp/replies.ts';
import { SmtpSession, type AuthFn, type QueueFn, type SmtpConfig } from '../lib/smtp/session.ts';
import { checkPassword } from '../lib/smtp/auth.ts';

export const inProcess = true;

export async function main(ctx: Ctx): Promise<number> {
  const home = qmailHome(ctx.env);
  let cfg: SmtpConfig;
  try {
    cfg = loadConfig(home, ctx.env);
  } catch {
    const o = new SmtpOutput(ctx.stdout, 1200);
    o.out(R.control);
    await o.flush().catch(() => undefined);
    o.release();
    return 1;
  }
  const inSession = sessionOf(ctx) !== undefined;
  let writable: boolean | undefined;
  const queue: QueueFn = async (message, envelope) => {
    const qq = ctx.env.QMAILQUEUE;
    if (!qq && (writable ??= canWriteQueue(home))) {
      // streamed into the queue files as the client sends (client.ts's in-process route)
      const pid = inSession ? newPseudoPid() : process.pid;
      const r = await queueInject({ home, pid, invoker: 'network' }, message, envelope);
      return { reply: qqReply(r.code), qp: pid };
    }
    // a program: $QMAILQUEUE or bin/qmail-queue, the message piped as it comes
    const r = await runQueueProgram(qq || binPath('qmail-queue'), { ...ctx.env, QMAILHOME: home }, message, envelope);
    return { reply: r.reply, qp: r.pid ?? 0 };
  };
  // A client may send its last commands and shut down its side at once
  // (half-close): the replies must still go out, as they do from the C
  // original on fd 1. A net.Socket shared for both directions would end its
  // writable side at the read EOF unless half-open is allowed.
  for (const s of [ctx.stdin, ctx.stdout]) if ('allowHalfOpen' in s) (s as { allowHalfOpen: boolean }).allowHalfOpen = true;
  const cp = cfg.checkpassword;
  const auth: AuthFn | undefined =
    cp && cp.length > 0
      ? (user, pass) => checkPassword(cp, ctx.env, user, pass, `<${inSession ? newPseudoPid() : process.pid}.${Math.floor(Date.now() / 1000)}@${cfg.greeting.split(' ')[0]}>`, cfg.timeout)
      : undefined;
  try {
    return await new SmtpSession(cfg, ctx.stdin, ctx.stdout, queue, auth).run();
  } finally {
    cfg.rcpthosts.close();
  }
}
