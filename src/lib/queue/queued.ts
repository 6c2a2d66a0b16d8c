/**
 * queue/queued: the server side of the queue-injection service (protocol
 * in socket.ts; the program is src/qmail/qmail-queued.ts). It listens on a
 * Unix-domain socket and, for each connection, runs queueInject() (the same
 * code and files as qmail-queue) with the message and envelope streamed from
 * the connection, recording the CLIENT's uid and pid as the kernel reports
 * them (SO_PEERCRED through sys.peercred) where the setuid qmail-queue
 * records getuid() and getpid(); then answers with qmail-queue's exit code.
 *
 * Limits: at most `limit` connections are worked on at once; later ones
 * wait, unread, in arrival order (as connections beyond tcpserver's -c wait
 * in the kernel's backlog). A connection that sends nothing for `timeout`
 * seconds, or is still open after qmail-queue's 24 hours (DEATH), is
 * answered 52 (timeout) and closed; what it sent is removed. There is no
 * size limit: qmail-queue has none (databytes belongs to qmail-smtpd). A
 * connection that ends before the envelope's closing netstring (the
 * envelope's last byte is held back until it comes), or sends a malformed
 * netstring, queues nothing (queueInject fails with 54 and removes its
 * files). All socket I/O is asynchronous; queueInject's fsyncs run in the
 * libuv pool, so one slow client or disk never stops the others.
 *
 * A connection whose first byte is `I` instead asks for qmail-inject or
 * sendmail to be run here for the client (inject/served.ts: the native
 * front end of bin/qmail-inject and bin/sendmail), under the same limits,
 * except that such a connection may stay silent up to DEATH (a person may
 * be typing the message).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, unlinkSync } from 'node:fs';
import { sys } from '../native.ts';
import { errCode } from '../errstr.ts';
import { ByteReader, readLength } from '../netstring.ts';
import { queueInject } from './inject.ts';
import type { ByteSource } from './source.ts';
import { encodeReply } from './socket.ts';
import { QQ } from './qqcodes.ts';
import { INJECT_REQUEST, serveInject } from '../inject/served.ts';

/** qmail-queue's DEATH (seconds): no connection lives longer. */
export const DEATH_SECONDS = 86400;

/** Settings of a queue-injection server. */
export interface QueuedOptions {
  /** the qmail home whose queue is written */
  home: string;
  /** the socket's path (queueSocketPath(home)) */
  path: string;
  /** connections worked on at once (>= 1) */
  limit: number;
  /** seconds a connection may stay silent (> 0) */
  timeout: number;
  /** socket mode after bind (default 0666) */
  mode?: number;
  /** told of connections that could not be served (e.g. no peer credentials) */
  warn?: (what: string, e: unknown) => void;
}

/** Largest netstring length accepted in a chunk (bytes); clients send 64 KiB. */
const MAX_CHUNK = 1 << 24;

/**
 * A ByteSource over a sequence of netstring chunks closed by `0:,`: the
 * chunks' bytes, then 0. A malformed netstring or the end of the connection
 * before `0:,` throws (queueInject's 54).
 */
export function chunkSource(r: ByteReader): ByteSource {
  let left = 0;
  let ended = false;
  const comma = async (): Promise<void> => {
    if ((await r.get()) !== 0x2c) throw new Error('malformed netstring');
  };
  return {
    async read(into: Buffer): Promise<number> {
      if (ended) return 0;
      while (left === 0) {
        const len = await readLength(r);
        if (len > MAX_CHUNK) throw new Error('netstring too long');
        if (len === 0) {
          await comma();
          ended = true;
          return 0;
        }
        left = len;
      }
      const b = await r.some(Math.min(into.length, left));
      into.set(b);
      left -= b.length;
      if (left === 0) await comma();
      return b.length;
    },
  };
}

/**
 * src's bytes with the last one held back until src ends: the envelope's
 * final \0 (qmail-queue's commit) reaches queueInject only after the
 * envelope's closing `0:,`, so a connection cut anywhere before that queues
 * nothing.
 */
export function holdLast(src: ByteSource): ByteSource {
  let held = -1;
  let tmp = Buffer.alloc(0);
  return {
    async read(into: Buffer): Promise<number> {
      if (tmp.length < into.length) tmp = Buffer.allocUnsafe(into.length);
      for (;;) {
        const n = await src.read(tmp.subarray(0, into.length));
        if (n === 0) {
          if (held < 0) return 0;
          into[0] = held;
          held = -1;
          return 1;
        }
        let k = 0;
        if (held >= 0) into[k++] = held;
        into.set(tmp.subarray(0, n - 1), k);
        k += n - 1;
        held = tmp[n - 1];
        if (k > 0) return k;
      }
    },
  };
}

/** Serve one connection: inject, answer, close. */
async function serve(o: QueuedOptions, s: Socket, cred: { pid: number; uid: number }): Promise<void> {
  let timedOut = false;
  const expire = (): void => {
    if (timedOut || s.destroyed) return;
    timedOut = true;
    s.end(encodeReply(QQ.TIMEOUT), () => s.destroy());
  };
  s.setTimeout(o.timeout * 1000, expire);
  const death = setTimeout(expire, DEATH_SECONDS * 1000);
  try {
    const r = new ByteReader(s);
    if ((await r.peek().catch(() => -1)) === INJECT_REQUEST) {
      // qmail-inject reads its input for as long as the caller types, bounded
      // only by qmail-queue's 24 hours (DEATH), as the C pair is
      s.setTimeout(0);
      return await serveInject(o.home, s, r, chunkSource, cred);
    }
    const res = await queueInject({ home: o.home, uid: cred.uid, pid: cred.pid }, chunkSource(r), holdLast(chunkSource(r)));
    if (!timedOut && !s.destroyed) s.end(encodeReply(res.code), () => s.destroy());
  } finally {
    clearTimeout(death);
    s.setTimeout(0);
  }
}

/**
 * Listen on o.path (a stale socket there is removed first; mode 0666) and
 * serve until the returned server is closed. Rejects (errno `.code`) when
 * the socket cannot be made.
 */
export function startQueued(o: QueuedOptions): Promise<Server> {
  let active = 0;
  const waiting: Array<() => void> = [];
  const next = (): void => {
    active--;
    const w = waiting.shift();
    if (w) w();
  };
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s: Socket) => {
    s.on('error', () => undefined);
    let cred: { pid: number; uid: number };
    try {
      const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
      if (typeof fd !== 'number' || fd < 0) throw new Error('no descriptor for the connection');
      cred = sys.peercred(fd);
    } catch (e) {
      o.warn?.('unable to get peer credentials', e);
      s.destroy();
      return;
    }
    const go = (): void => {
      active++;
      if (s.destroyed) return next();
      s.resume();
      serve(o, s, cred)
        .catch((e: unknown) => {
          o.warn?.('connection failed', e);
          s.destroy();
        })
        .finally(next);
    };
    if (active < o.limit) go();
    else waiting.push(go);
  });
  return new Promise((res, rej) => {
    try {
      unlinkSync(o.path);
    } catch (e) {
      if (errCode(e) !== 'ENOENT') return rej(e);
    }
    server.once('error', rej);
    server.listen(o.path, () => {
      server.off('error', rej);
      // e.g. EMFILE on accept: said, and the server goes on
      server.on('error', (e) => o.warn?.('unable to accept', e));
      try {
        chmodSync(o.path, o.mode ?? 0o666);
      } catch (e) {
        server.close();
        return rej(e);
      }
      res(server);
    });
  });
}
