/**
 * qmtp/qmqpc: the QMQP client behind qmail-qmqpc(8) (mini-qmail's
 * qmail-queue). Builds one QMQP packet from a message and a qmail-queue
 * envelope and offers it to each server of control/qmqpservers in turn
 * (port 628) until one answers.
 *
 * Envelope (qmail-queue(8)): `F` sender NUL, then `T` recipient NUL for
 * each recipient, then a lone NUL; anything else is a format error.
 *
 * Exit codes are qmail-queue's (qmail-qmqpc.c): 0 the server said K; 31 it
 * said D; 71 it said Z; 51 out of memory; 54 the message or envelope could
 * not be read; 55 control/qmqpservers missing or unreadable, or no server
 * line was an IP address; 56 no socket; 61 no qmail home; 72 the last
 * server tried timed out (10 s connect); 73 it refused; 74 the
 * conversation failed (60 s per read or write, or the server hung up); 91
 * envelope format error. A server line is used when it starts with a
 * dotted quad (ip_scan); other lines are skipped.
 */
import { connect, type Socket } from 'node:net';
import { encode } from '../netstring.ts';

/** The QMQP port (qmail-qmqpc.c PORT_QMQP). */
export const PORT_QMQP = 628;

/** The packet for message + envelope, or 91 (format error). */
export function qmqpPacket(message: Buffer, envelope: Buffer): Buffer | 91 {
  const items: Buffer[] = [encode(message)];
  let i = 0;
  const line = (): Buffer | undefined => {
    const z = envelope.indexOf(0, i);
    if (z < 0) return undefined;
    const l = envelope.subarray(i, z + 1);
    i = z + 1;
    return l;
  };
  let l = line();
  if (!l || l.length < 2 || l[0] !== 0x46) return 91;
  items.push(encode(l.subarray(1, l.length - 1)));
  for (;;) {
    l = line();
    if (!l) return 91;
    if (l.length < 2) break;
    if (l[0] !== 0x54) return 91;
    items.push(encode(l.subarray(1, l.length - 1)));
  }
  return encode(Buffer.concat(items));
}

/** The dotted quad a qmqpservers line starts with (ip_scan), or undefined. */
export function scanIp(s: string): string | undefined {
  const m = /^([0-9]+)\.([0-9]+)\.([0-9]+)\.([0-9]+)/.exec(s);
  return m ? m.slice(1, 5).map((x) => Number(x) % 256).join('.') : undefined;
}

function tryConnect(ip: string, port: number, secs: number): Promise<Socket | 72 | 73> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port, family: 4 });
    const t = setTimeout(() => {
      s.destroy();
      resolve(72);
    }, secs * 1000);
    s.once('connect', () => {
      clearTimeout(t);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', () => {
      clearTimeout(t);
      s.destroy();
      resolve(73);
    });
  });
}

/** Send the packet on s and read the answer: 0, 71, 31, or 74. */
function converse(s: Socket, packet: Buffer, secs: number): Promise<number> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.destroy();
      resolve(code);
    };
    let t = setTimeout(() => finish(74), secs * 1000);
    const bump = (): void => {
      clearTimeout(t);
      t = setTimeout(() => finish(74), secs * 1000);
    };
    s.on('error', () => finish(74));
    s.on('end', () => finish(74));
    s.on('close', () => finish(74));
    s.on('data', (b: Buffer) => {
      bump();
      for (const c of b) {
        if (c === 0x4b) return finish(0);
        if (c === 0x5a) return finish(71);
        if (c === 0x44) return finish(31);
      }
    });
    s.write(packet, () => bump());
  });
}

/**
 * Offer the packet to each server in order (see module comment) and give
 * qmail-qmqpc's exit code. `port` is 628 except in tests.
 */
export async function qmqpSend(servers: string[], packet: Buffer, port = PORT_QMQP): Promise<number> {
  let last = 55;
  for (const line of servers) {
    const ip = scanIp(line);
    if (ip === undefined) continue;
    const s = await tryConnect(ip, port, 10);
    if (typeof s === 'number') {
      last = s;
      continue;
    }
    return converse(s, packet, 60);
  }
  return last;
}
