/**
 * qmtp/qmtpd: the QMTP server's conversation (qmail-qmtpd(8);
 * cr.yp.to/proto/qmtp.txt; qmail-qmtpd.c for the replies). Any number of
 * messages per connection, each three netstrings from the client:
 *
 *   message     first byte `\n` (LF text) or `\r` (CR LF text, every CR LF
 *               becomes LF, other CRs kept), then the message
 *   sender      the envelope sender
 *   recipients  a netstring of netstrings, one per recipient
 *
 * and one reply netstring per recipient, in order: `Kok TIME qp QP`,
 * `Z...` or `D...` (the queue's answer for the message), `Dsorry, that
 * domain isn't in my list of allowed rcpthosts (#5.7.1)` (not in
 * rcpthosts, no RELAYCLIENT), `Dsorry, I can't handle that recipient
 * (#5.1.3)` (a NUL byte, or 1000 bytes or more with RELAYCLIENT appended).
 * The message is queued with a Received line `... with QMTP` when at least
 * one recipient is acceptable, the sender is under 1000 bytes without NUL
 * (else every acceptable recipient gets `Dunacceptable sender (#5.1.7)`) and
 * the message (without the mode byte) is within databytes (else `Dsorry,
 * that message size exceeds my databytes limit (#5.3.4)`, which wins over
 * the sender's text). RELAYCLIENT is
 * appended to every recipient and turns the rcpthosts check off.
 *
 * Ends (the exit code qmail-qmtpd uses): 0 at end of input or when the
 * client is gone; 100 on a protocol violation (a non-digit in a length, an
 * empty message, a mode byte other than LF/CR, a missing comma, a recipient
 * netstring running past its list); 111 on a length over 200000000, an
 * unreadable rcpthosts/morercpthosts.cdb.
 *
 * Deviations: the message is held in memory until its envelope has been
 * read (the original pipes it into qmail-queue as it arrives); bytes after
 * an overflow of databytes are not kept. A non-digit in a recipient's
 * length is a protocol violation (the original computes a garbage length).
 *
 * Shared with qmtp/qmqpd.ts: QmtpExit, SessionConfig (what both servers need
 * from their program), getlen() (a netstring's length) and receivedHead().
 */
import { ByteReader } from '../netstring.ts';
import type { RcptHosts } from '../smtp/rcpthosts.ts';
import { receivedField } from '../smtp/received.ts';
import { okText } from './submit.ts';

/** Where a session ends, with the exit code. */
export class QmtpExit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

/** What a QMTP or QMQP session needs from its program. */
export interface SessionConfig {
  /** TCPLOCALHOST, else TCPLOCALIP, else `unknown` */
  local: string;
  remoteIp: string;
  remoteHost: string;
  remoteInfo?: string;
  /** queue a message: qmail_close's text and qp */
  queue: (message: Buffer, envelope: Buffer) => Promise<{ reply: string; qp: number }>;
  /** send bytes to the client (rejects when it is gone) */
  write: (b: Buffer) => Promise<void>;
}

/** What a QMTP session needs from its program. */
export interface QmtpConfig extends SessionConfig {
  /** databytes (0 = no limit) */
  databytes: number;
  /** RELAYCLIENT when set */
  relayclient?: string;
  rcpthosts: RcptHosts;
}

const MAXLEN = 200000000;
const bad = (): never => {
  throw new QmtpExit(100);
};

/**
 * A netstring's length: digits up to `:`, read byte by byte with get.
 * QmtpExit(100) on a non-digit, QmtpExit(111) past 200000000 bytes.
 */
export async function getlen(get: () => Promise<number>): Promise<number> {
  let len = 0;
  for (;;) {
    const c = await get();
    if (c === 0x3a) return len;
    if (len > MAXLEN) throw new QmtpExit(111);
    if (c < 0x30 || c > 0x39) bad();
    len = 10 * len + (c - 0x30);
  }
}

/** The Received field (latin1 bytes) a session puts in front of a message it queues. */
export function receivedHead(protocol: 'QMTP' | 'QMQP', cfg: SessionConfig): Buffer {
  return Buffer.from(
    receivedField({ protocol, local: cfg.local, remoteIp: cfg.remoteIp, remoteHost: cfg.remoteHost, remoteInfo: cfg.remoteInfo, when: Math.floor(Date.now() / 1000) }),
    'latin1',
  );
}

async function getcomma(r: ByteReader): Promise<void> {
  if ((await r.get()) !== 0x2c) bad();
}

/**
 * Serve QMTP on reader until the client is done. Resolves with the exit
 * code (see module comment); EndOfInput from the reader means 0.
 */
export async function qmtpServe(r: ByteReader, cfg: QmtpConfig): Promise<number> {
  const rc = cfg.relayclient;
  const rclen = rc === undefined ? 0 : Buffer.byteLength(rc, 'latin1');
  for (;;) {
    let len = await getlen(() => r.get());
    if (len === 0) bad();
    const mode = await r.get();
    len--;
    let dos: boolean;
    if (mode === 10) dos = false;
    else if (mode === 13) dos = true;
    else return bad();
    const head = receivedHead('QMTP', cfg);
    const body: Buffer[] = [head];
    let overflow = false;
    const db = cfg.databytes;
    if (!dos) {
      if (db && len > db) overflow = true;
      while (len > 0) {
        const b = await r.some(len);
        len -= b.length;
        if (!overflow) body.push(Buffer.from(b));
      }
    } else {
      let kept = 0;
      const out: number[] = [];
      const put = (c: number): void => {
        if (overflow) return;
        if (db && ++kept > db) {
          overflow = true;
          return;
        }
        out.push(c);
        if (out.length >= 65536) {
          body.push(Buffer.from(out));
          out.length = 0;
        }
      };
      while (len > 0) {
        let ch = await r.get();
        len--;
        while (ch === 13 && len) {
          ch = await r.get();
          len--;
          if (ch === 10) break;
          put(13);
        }
        put(ch);
      }
      if (!overflow) body.push(Buffer.from(out));
    }
    await getcomma(r);
    // sender
    len = await getlen(() => r.get());
    let senderOk = true;
    let sender: Buffer = Buffer.alloc(0);
    if (len >= 1000) {
      senderOk = false;
      await r.take(len);
    } else {
      sender = Buffer.from(await r.take(len));
      if (sender.includes(0)) senderOk = false;
    }
    await getcomma(r);
    // recipients
    const failure: string[] = [];
    const envelope: Buffer[] = [Buffer.from('F'), sender, Buffer.alloc(1)];
    let bother = false;
    let biglen = await getlen(() => r.get());
    while (biglen > 0) {
      let f = '';
      let rlen = 0;
      for (;;) {
        if (!biglen) bad();
        const c = await r.get();
        biglen--;
        if (c === 0x3a) break;
        if (rlen > MAXLEN) throw new QmtpExit(111);
        if (c < 0x30 || c > 0x39) bad();
        rlen = 10 * rlen + (c - 0x30);
      }
      if (rlen >= biglen) bad();
      if (rlen + rclen >= 1000) {
        f = 'L';
        await r.take(rlen);
      } else {
        const addr = Buffer.from(await r.take(rlen));
        if (addr.includes(0)) f = 'N';
        let full = addr.toString('latin1');
        if (rc !== undefined) full += rc;
        else {
          let ok: boolean;
          try {
            ok = cfg.rcpthosts.allowed(full);
          } catch {
            throw new QmtpExit(111);
          }
          if (!ok) f = 'D';
        }
        if (!f) {
          envelope.push(Buffer.from('T'), Buffer.from(full, 'latin1'), Buffer.alloc(1));
          bother = true;
        }
      }
      failure.push(f);
      await getcomma(r);
      biglen -= rlen + 1;
    }
    await getcomma(r);
    let result: string;
    if (overflow) result = 'Dsorry, that message size exceeds my databytes limit (#5.3.4)';
    else if (!senderOk) result = 'Dunacceptable sender (#5.1.7)';
    else if (!bother) result = 'Zqq read error (#4.3.0)';
    else {
      envelope.push(Buffer.alloc(1));
      const q = await cfg.queue(Buffer.concat(body), Buffer.concat(envelope));
      result = q.reply || okText(q.qp);
    }
    const ok = Buffer.from(`${Buffer.byteLength(result, 'latin1')}:${result},`, 'latin1');
    const replies = failure.map((f) =>
      f === '' ? ok : f === 'D' ? Buffer.from("66:Dsorry, that domain isn't in my list of allowed rcpthosts (#5.7.1),") : Buffer.from("46:Dsorry, I can't handle that recipient (#5.1.3),"),
    );
    if (replies.length > 0) await cfg.write(Buffer.concat(replies));
  }
}
