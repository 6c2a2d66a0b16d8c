/**
 * ident: the RFC 1413 question tcpserver and tcpclient ask to fill
 * TCPREMOTEINFO (remoteinfo.c in ucspi-tcp 0.88; ../shared/FORMATS.md
 * section 8).
 *
 * remoteInfo({remoteIp, remotePort, localIp, localPort, timeout}) connects
 * from localIp (any port) to remoteIp port 113, sends
 * `<remoteport> , <localport>\r\n`, and reads the reply: spaces, tabs and CRs
 * are dropped, the first three `:` are counted, and everything after the
 * third is the answer, up to `\n` or 257 bytes. Returns the answer ('' when
 * the reply had fewer than three colons, e.g. `ERROR : NO-USER`), or
 * undefined when the connection, the exchange or the deadline (timeout
 * seconds for the whole exchange) fails, or the reply ends without `\n`.
 */
import { connect } from 'node:net';

export interface IdentQuery {
  remoteIp: string;
  remotePort: number;
  localIp: string;
  localPort: number;
  /** seconds for connect + exchange */
  timeout: number;
}

/** The ident answer (see the module comment), or undefined on failure. */
export function remoteInfo(q: IdentQuery): Promise<string | undefined> {
  return new Promise((resolve) => {
    let colons = 0;
    const out: number[] = [];
    let done = false;
    const finish = (v: string | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const sock = connect({ host: q.remoteIp, port: 113, localAddress: q.localIp });
    const timer = setTimeout(() => finish(undefined), q.timeout * 1000);
    sock.on('connect', () => sock.write(`${q.remotePort} , ${q.localPort}\r\n`));
    sock.on('data', (buf: Buffer) => {
      for (const ch of buf) {
        if (ch === 0x20 || ch === 0x09 || ch === 0x0d) continue;
        if (ch === 0x0a) return finish(Buffer.from(out).toString('latin1'));
        if (colons < 3) {
          if (ch === 0x3a) colons++;
        } else {
          out.push(ch);
          if (out.length > 256) return finish(Buffer.from(out).toString('latin1'));
        }
      }
    });
    sock.on('error', () => finish(undefined));
    sock.on('close', () => finish(undefined));
  });
}
