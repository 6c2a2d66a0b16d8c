/**
 * qmail-queued [ -c limit ] [ -t timeout ]: the queue-injection service.
 * NOT a qmail program: this product's addition, replacing the setuid bit
 * of qmail-queue (qmail installs qmail-queue setuid qmailq; this product has
 * no setuid programs).
 *
 * Runs as the queue's owner (qmailq on a system install, through setuidgid
 * in QMAILHOME/supervise/qmail-queued/run; the invoking user in the embedded
 * setup) and listens on QMAILHOME/qmail-queued/socket (mode 0666; the
 * directory belongs to qmailq, mode 0755). Each connection carries one
 * message and its envelope (protocol: src/lib/queue/socket.ts) and is
 * queued exactly as qmail-queue would queue it (src/lib/queue/inject.ts),
 * the Received line and intd's `u`/`p` naming the connecting process's uid
 * and pid as the kernel reports them (SO_PEERCRED); the answer is
 * qmail-queue's exit code. Programs that cannot write the queue reach it
 * through here: queue/client.ts's submitMessage() (qmail-inject, sendmail,
 * qmail-local's forwards, qmail-send's bounces) and bin/qmail-queue itself
 * (so qmail-smtpd as qmaild and any program that runs qmail-queue work as
 * with the setuid original).
 *
 * Options: -c limit: connections worked on at once (default 40; more wait,
 * unread); -t timeout: seconds a connection may stay silent before it is
 * answered 52 and dropped (default 1200, qmail-smtpd's timeout).
 * Environment: QMAILHOME (default /var/qmail).
 * Prints nothing while it works; warnings `qmail-queued: warning: ...`.
 * Exit codes: 100 usage; 111 `qmail-queued: fatal: unable to bind: ...`;
 * 0 after SIGTERM, once the connections in progress are answered.
 */
import type { Ctx } from '../lib/program.ts';
import { sgetopt } from '../lib/sgetopt.ts';
import { die, usage, warn } from '../lib/strerr.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { queueSocketPath } from '../lib/queue/socket.ts';
import { startQueued } from '../lib/queue/queued.ts';

const PROG = 'qmail-queued';

export async function main(ctx: Ctx): Promise<number> {
  const p = sgetopt(PROG, ctx.argv.slice(1), 'c:t:');
  let limit = 40;
  let timeout = 1200;
  const num = (s: string | undefined): number => (s !== undefined && /^[0-9]+$/.test(s) ? Number(s) : 0);
  for (const o of p.opts) {
    if (o.opt === 'c') limit = num(o.arg);
    else if (o.opt === 't') timeout = num(o.arg);
  }
  if (p.bad || p.rest.length > 0 || limit < 1 || timeout < 1) usage(PROG, '[ -c limit ] [ -t timeout ]');
  const home = qmailHome(ctx.env);
  let server;
  try {
    server = await startQueued({ home, path: queueSocketPath(home), limit, timeout, warn: (w, e) => warn(PROG, w, e) });
  } catch (e) {
    die(PROG, 111, 'unable to bind', e);
  }
  const srv = server;
  return new Promise<number>((res) => {
    process.once('SIGTERM', () => srv.close(() => res(0)));
  });
}
