/**
 * qmtp/qmqpd: the QMQP server's conversation (qmail-qmqpd(8);
 * cr.yp.to/proto/qmqp.html; qmail-qmqpd.c for the replies). One message
 * per connection: a netstring holding the netstrings
 *
 *   message, sender, recipient, recipient, ...
 *
 * then one reply netstring: `Kok TIME qp QP`, the queue's `Z...`/`D...`,
 * or `Dsorry, I can't accept addresses like that (#5.1.3)` when an address
 * is 1000 bytes or more or holds a NUL (nothing is queued then). The
 * message gets a Received line `... with QMQP`. No rcpthosts check: QMQP
 * clients are trusted (restrict them with tcpserver rules).
 *
 * Lengths are bounded as in the original: the outer length may take 100
 * bytes to state, and every byte read afterwards (inner lengths included)
 * counts against it; running out, a non-digit in a length or a missing
 * comma is a protocol violation (exit 100); a length over 200000000 exits
 * 111; the client going away exits 0.
 *
 * Deviation: the message is held in memory until its envelope is read.
 */
import { ByteReader } from '../netstring.ts';
import { getlen, QmtpExit, receivedHead, type SessionConfig } from './qmtpd.ts';
import { okText } from './submit.ts';

/** What a QMQP session needs from its program. */
export type QmqpConfig = SessionConfig;

/** Serve one QMQP message; resolves with the exit code (see module comment). */
export async function qmqpServe(r: ByteReader, cfg: QmqpConfig): Promise<number> {
  let left = 100;
  const byte = async (): Promise<number> => {
    if (left-- <= 0) throw new QmtpExit(100);
    return r.get();
  };
  const take = async (n: number): Promise<Buffer> => {
    if (n > left) {
      // the original reads up to the budget, then exits 100
      await r.take(left);
      throw new QmtpExit(100);
    }
    left -= n;
    return Buffer.from(await r.take(n));
  };
  const getcomma = async (): Promise<void> => {
    if ((await byte()) !== 0x2c) throw new QmtpExit(100);
  };
  /** an address: undefined when unacceptable (>= 1000 bytes or a NUL) */
  const getbuf = async (): Promise<Buffer | undefined> => {
    const len = await getlen(byte);
    const b = await take(len);
    await getcomma();
    return len >= 1000 || b.includes(0) ? undefined : b;
  };
  left = await getlen(byte);
  const len = await getlen(byte);
  const head = receivedHead('QMQP', cfg);
  const message = await take(len);
  await getcomma();
  let ok = true;
  const sender = await getbuf();
  if (!sender) ok = false;
  const env: Buffer[] = [Buffer.from('F'), sender ?? Buffer.alloc(0), Buffer.alloc(1)];
  while (left > 0) {
    const rcpt = await getbuf();
    if (!rcpt) ok = false;
    else env.push(Buffer.from('T'), rcpt, Buffer.alloc(1));
  }
  left = 1;
  await getcomma();
  let result: string;
  if (!ok) result = "Dsorry, I can't accept addresses like that (#5.1.3)";
  else {
    env.push(Buffer.alloc(1));
    const q = await cfg.queue(Buffer.concat([head, message]), Buffer.concat(env));
    result = q.reply || okText(q.qp);
  }
  await cfg.write(Buffer.from(`${Buffer.byteLength(result, 'latin1')}:${result},`, 'latin1'));
  return 0;
}
