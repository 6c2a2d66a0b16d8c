/**
 * qmtp/submit: how qmail-qmtpd and qmail-qmqpd hand a message to the queue
 * (qmail.c qmail_open/qmail_close, via queue/client.ts): in-process
 * (queueInject, Received-by-network form) when $QMAILQUEUE is unset and this
 * process may write the queue, else $QMAILQUEUE or bin/qmail-queue as a
 * program. Gives qmail_close()'s text ('' = queued, `D...`, `Z...`) and
 * the `qp` number for the `Kok TIME qp QP` reply (in-process: a pseudo-pid
 * under tcpserver, else our pid; a program: its pid).
 */
import { canWriteQueue, runQueueProgram } from '../queue/client.ts';
import { queueInject } from '../queue/inject.ts';
import { qqReply } from '../queue/qqcodes.ts';
import { binPath } from '../root.ts';

type Env = Record<string, string | undefined>;

/** Queue one message; never rejects (an exec failure is qmail's code 120 text). */
export async function submit(env: Env, home: string, pid: number, message: Buffer, envelope: Buffer): Promise<{ reply: string; qp: number }> {
  const qq = env.QMAILQUEUE;
  if (!qq && canWriteQueue(home)) {
    const r = await queueInject({ home, pid, invoker: 'network' }, message, envelope);
    return { reply: qqReply(r.code), qp: pid };
  }
  try {
    const r = await runQueueProgram(qq || binPath('qmail-queue'), { ...env, QMAILHOME: home }, message, envelope);
    return { reply: r.reply, qp: r.pid ?? 0 };
  } catch {
    return { reply: qqReply(120), qp: 0 };
  }
}

/** `Kok TIME qp QP`, the success text of both servers. */
export function okText(qp: number): string {
  return `Kok ${Math.floor(Date.now() / 1000)} qp ${qp}`;
}
