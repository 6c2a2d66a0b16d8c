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
 * this program writes the queue as whoever runs it (see the project's notes
 * on the system install).
 */
import type { Ctx } from '../lib/program.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { queueInject } from '../lib/queue/inject.ts';
import { fdSource } from '../lib/queue/source.ts';
import { QQ } from '../lib/queue/qqcodes.ts';

/** qmail-queue's DEATH: 24 hours, below qmail-send's 36-hour cleanup. */
export const DEATH_SECONDS = 86400;

export async function main(ctx: Ctx): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  // "thou shalt not clean up here": the timer just ends the process with 52.
  const death = new Promise<number>((res) => {
    timer = setTimeout(() => res(QQ.TIMEOUT), DEATH_SECONDS * 1000);
  });
  try {
    const r = await Promise.race([queueInject({ home: qmailHome(ctx.env) }, fdSource(0), fdSource(1)).then((x) => x.code), death]);
    return r;
  } finally {
    clearTimeout(timer);
  }
}
