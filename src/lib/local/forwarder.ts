/**
 * local/forwarder: what forward(1) and condredirect(1) do after their
 * checks: queue a copy of the message on fd 0 (read from offset 0) with
 * $DTLINE in front, from `sender` to `recipients`, through the queue
 * (queue/client.submitMessage: $QMAILQUEUE or qmail-queue). Returns '' when
 * queued, else qmail_close()'s text (`D...` permanent, `Z...` temporary);
 * a read error of fd 0 is thrown (errno .code).
 */
import { readSync } from 'node:fs';
import { qmailHome } from '../qmailhome.ts';
import { submitMessage } from '../queue/client.ts';
import { envelopeBytes } from '../queue/envelope.ts';

/** Bytes of fd 0 from `start` (pread when seekable), to the end. */
export function readInput(fromStart: boolean): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const b = Buffer.allocUnsafe(65536);
    let n: number;
    try {
      n = readSync(0, b, 0, b.length, fromStart ? pos : null);
    } catch (e) {
      const c = (e as NodeJS.ErrnoException).code;
      if (c === 'EAGAIN' || c === 'EINTR') continue;
      throw e;
    }
    if (n === 0) return Buffer.concat(parts);
    parts.push(b.subarray(0, n));
    pos += n;
  }
}

/** Queue DTLINE + message from sender to recipients (latin1 strings). */
export async function forwardMessage(env: Record<string, string | undefined>, dtline: string, message: Buffer, sender: string, recipients: string[]): Promise<string> {
  const r = await submitMessage(
    env,
    { home: qmailHome(env) },
    Buffer.concat([Buffer.from(dtline, 'latin1'), message]),
    envelopeBytes(Buffer.from(sender, 'latin1'), recipients.map((x) => Buffer.from(x, 'latin1'))),
  );
  return r.reply;
}
