/**
 * queue/socket: the queue-injection service's protocol and its client side
 * (this product's replacement for qmail's setuid qmail-queue on a system
 * install; the server is src/qmail/qmail-queued.ts).
 *
 * Where: the Unix-domain stream socket QMAILHOME/qmail-queued/socket
 * (queueSocketPath()). The directory belongs to the queue's owner (qmailq),
 * mode 0755; the socket is mode 0666, so every local user may queue mail, as
 * every local user may run the setuid qmail-queue (mode 4711).
 *
 * One message per connection. The client sends the message, then the
 * envelope, each as a sequence of netstrings (netstring.ts) closed by the
 * empty netstring `0:,`:
 *
 *     N1:<message bytes>, N2:<more>, ... 0:,  E1:<envelope bytes>, ... 0:,
 *
 * (spaces only for reading). The bytes are exactly what qmail-queue reads on
 * descriptors 0 and 1 (the envelope `F<sender>\0T<rcpt>\0...\0`, see
 * envelope.ts). Chunks let a client stream a message of any size (qmail-queue
 * has no size limit); a connection that ends before the message's and the
 * envelope's closing netstrings queues nothing. The server answers with two
 * netstrings: qmail-queue's exit code in decimal, and a custom error text in
 * the sense of the descriptor-6 convention of qmail-queue replacements
 * (qqReply's code 82; always empty from our server).
 *
 * The caller's identity is not part of the protocol: the server takes the
 * uid and pid from the kernel (SO_PEERCRED) and records them in the Received
 * line and intd's `u`/`p` fields, as the setuid qmail-queue records getuid()
 * and getpid().
 *
 * Failures of the service itself map to qmail-queue(8)'s codes for "not
 * used by qmail-queue" connection troubles (all temporary): 73 (connection
 * to mail server rejected) when connecting fails (no server listening, a
 * stale socket, permission denied); 74 (communication with mail server
 * failed) when the connection breaks or the reply is malformed. A source that
 * fails while being read gives 54 (read error) and the connection is dropped
 * without the closing netstrings, so nothing is queued.
 */
import { connect, type Socket } from 'node:net';
import { existsSync } from 'node:fs';
import { encode, parse, NetstringError } from '../netstring.ts';
import { bufferSource, type ByteSource } from './source.ts';
import { QQ } from './qqcodes.ts';

/** The injection socket of a qmail home. */
export function queueSocketPath(home: string): string {
  return `${home}/qmail-queued/socket`;
}

/** True when the injection socket exists (whether a server listens is found out by connecting). */
export function queueSocketExists(home: string): boolean {
  return existsSync(queueSocketPath(home));
}

/** The closing netstring of the message and of the envelope. */
export const END = Buffer.from('0:,');

/** Bytes read from a source per chunk (and the largest chunk a server takes by default). */
export const CHUNK = 65536;

/** What the server answered: qmail-queue's exit code and its fd-6 text. */
export interface SocketReply {
  code: number;
  text: string;
}

/** Encode the server's answer. */
export function encodeReply(code: number, text = ''): Buffer {
  return Buffer.concat([encode(String(code)), encode(text)]);
}

/** Parse the server's answer; undefined when incomplete or malformed. */
export function parseReply(b: Buffer): SocketReply | undefined {
  try {
    const a = parse(b, 0, 20);
    if (a === 'more' || !/^[0-9]{1,3}$/.test(a.value.toString('latin1'))) return undefined;
    const t = parse(b, a.next, 65536);
    if (t === 'more' || t.next !== b.length) return undefined;
    return { code: Number(a.value.toString('latin1')), text: t.value.toString('latin1') };
  } catch (e) {
    if (e instanceof NetstringError) return undefined;
    throw e;
  }
}

/** Write b to the socket, waiting for the kernel to take it (false: the connection is gone). */
function send(s: Socket, b: Uint8Array): Promise<boolean> {
  return new Promise((res) => {
    if (s.destroyed) return res(false);
    s.write(b, (e) => res(!e));
  });
}

/**
 * Stream a source as netstring chunks and the closing `0:,`. `stop` (for
 * the envelope read from a descriptor) says when the bytes so far end the
 * input, so a caller that keeps its end open is not waited for.
 * Resolves 'sent', 'read' (the source failed) or 'gone' (connection broken).
 */
async function sendStream(s: Socket, src: ByteSource, stop?: (chunk: Buffer) => boolean): Promise<'sent' | 'read' | 'gone'> {
  const buf = Buffer.allocUnsafe(CHUNK);
  for (;;) {
    let n: number;
    try {
      n = await src.read(buf);
    } catch {
      return 'read';
    }
    if (n === 0) break;
    const chunk = buf.subarray(0, n);
    if (!(await send(s, encode(chunk)))) return 'gone';
    if (stop?.(chunk)) break;
  }
  return (await send(s, END)) ? 'sent' : 'gone';
}

/**
 * Queue one message through the injection socket at `path`. `message` and
 * `envelope` are bytes or ByteSources (read to their end; `envelopeDone`,
 * when given, is fed each envelope chunk and says when the envelope is
 * complete). Never rejects: service troubles are codes 73/74/54 (see the
 * module comment).
 */
export function submitViaSocket(path: string, message: Uint8Array | ByteSource, envelope: Uint8Array | ByteSource, envelopeDone?: (chunk: Buffer) => boolean): Promise<SocketReply> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: SocketReply): void => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
      s.destroy();
    };
    const got: Buffer[] = [];
    const s = connect({ path, allowHalfOpen: true });
    s.on('data', (b: Buffer) => got.push(b));
    s.on('error', () => undefined);
    s.on('close', () => {
      const r = parseReply(Buffer.concat(got));
      done(r ?? { code: connected ? QQ.COMM_FAILED : QQ.CONN_REJECTED, text: '' });
    });
    let connected = false;
    s.on('connect', () => {
      connected = true;
      void (async () => {
        const m = await sendStream(s, message instanceof Uint8Array ? bufferSource(message) : message);
        const e = m === 'sent' ? await sendStream(s, envelope instanceof Uint8Array ? bufferSource(envelope) : envelope, envelopeDone) : m;
        if (e === 'read') done({ code: QQ.READ, text: '' });
        else if (e === 'sent') s.end();
        // 'gone': the close handler answers
      })();
    });
  });
}
