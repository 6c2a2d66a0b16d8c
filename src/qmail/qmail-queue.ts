/**
 * qmail-queue: queue a mail message for delivery (qmail-queue(8)).
 *
 * Reads the message from descriptor 0, then the envelope from descriptor 1
 * (`F<sender>\0T<recipient>\0...\0`), both as raw descriptors, and places the
 * message into QMAILHOME/queue with a Received line on top (queue/inject.ts
 * has the steps and file formats). Prints no diagnostics; arguments are
 * ignored. Exit codes (qmail-queue(8)): 0 queued; 11 address too long;
 * 51 out of memory; 52 timeout (the 24-hour timer started before touching any
 * file); 53 write error / disk full; 54 unable to read the message or
 * envelope; 61 trouble with QMAILHOME; 62 queue; 63 queue/pid; 64 queue/mess;
 * 65 queue/intd; 66 queue/todo; 81 internal bug; 91 envelope format error.
 *
 * Environment: QMAILHOME (default /var/qmail). The original is setuid qmailq;
 * this product has no setuid programs. This program writes the queue itself
 * when whoever runs it may (the embedded setup, qmailq); otherwise, when the
 * queue-injection service's socket QMAILHOME/qmail-queued/socket exists, it
 * passes fds 0 and 1 on to qmail-queued (src/qmail/qmail-queued.ts), which
 * queues the message as qmailq, recording this process's uid and pid as the
 * setuid original does, and exits with the service's answer; a service that cannot be reached gives 73,
 * a connection that breaks 74 (qmail-queue(8)'s connection codes; both
 * temporary). Without the socket it tries the queue itself and fails with
 * qmail-queue's codes (e.g. 62/63).
 */
import type { Ctx } from '../lib/program.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { queueInject } from '../lib/queue/inject.ts';
import { fdSource } from '../lib/queue/source.ts';
import { QQ } from '../lib/queue/qqcodes.ts';
import { canWriteQueue } from '../lib/queue/client.ts';
import { EnvelopeScanner } from '../lib/queue/envelope.ts';
import { queueSocketExists, queueSocketPath, submitViaSocket } from '../lib/queue/socket.ts';

/** qmail-queue's DEATH: 24 hours, below qmail-send's 36-hour cleanup. */
export const DEATH_SECONDS = 86400;

export async function main(ctx: Ctx): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  // "thou shalt not clean up here": the timer just ends the process with 52.
  const death = new Promise<number>((res) => {
    timer = setTimeout(() => res(QQ.TIMEOUT), DEATH_SECONDS * 1000);
  });
  const home = qmailHome(ctx.env);
  try {
    if (!canWriteQueue(home) && queueSocketExists(home)) return await Promise.race([forward(home), death]);
    const r = await Promise.race([queueInject({ home }, fdSource(0), fdSource(1)).then((x) => x.code), death]);
    return r;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Pass fds 0 and 1 to the queue-injection service; its exit code. (A text
 * the service may send is not written to fd 6: qmail-queue itself never
 * writes there, and here fd 6 may be one of Node's own descriptors.)
 */
async function forward(home: string): Promise<number> {
  const scan = new EnvelopeScanner();
  const r = await submitViaSocket(queueSocketPath(home), fdSource(0), fdSource(1), (chunk) => scan.feed(chunk).code !== 0 || scan.done);
  return r.code;
}
