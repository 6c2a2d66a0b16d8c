/**
 * smtp/tls: the server side of STARTTLS (RFC 3207) for qmail-smtpd, not in
 * the original: offered only when control/servercert.pem exists (the
 * certificate and its private key in one PEM file, as qmail's TLS patch and
 * notqmail's qmail-smtpd(8) describe it).
 *
 * startTls(stdin, stdout, pem, timeout) wraps the connection: the socket
 * itself when both directions are one net.Socket (in-process under
 * tcpserver), else a Duplex over fds 0 and 1 (a real process). It resolves
 * with the TLS socket once the handshake is done, and rejects on a bad
 * certificate, a failed handshake or `timeout` seconds without one.
 * Bytes the client sent after STARTTLS before the handshake are not kept:
 * the caller drops its buffered input (the STARTTLS command injection
 * attack, CVE-2011-0411).
 */
import { Duplex, type Readable, type Writable } from 'node:stream';
import { Socket } from 'node:net';
import { TLSSocket, createSecureContext } from 'node:tls';

/** Handshake on the connection; see the module comment. */
export function startTls(stdin: Readable, stdout: Writable, pem: Buffer, timeout: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    let ctx;
    try {
      ctx = createSecureContext({ cert: pem, key: pem });
    } catch (e) {
      reject(e);
      return;
    }
    const raw: Duplex = stdin === (stdout as unknown) && stdin instanceof Socket ? stdin : Duplex.from({ readable: stdin, writable: stdout });
    const t = new TLSSocket(raw as Socket, { isServer: true, secureContext: ctx });
    t.allowHalfOpen = true;
    const timer = setTimeout(() => {
      t.destroy();
      reject(new Error('TLS handshake timeout'));
    }, timeout * 1000);
    const fail = (e?: Error): void => {
      clearTimeout(timer);
      t.off('error', fail);
      t.off('end', fail);
      t.off('close', fail);
      t.destroy();
      reject(e ?? new Error('connection closed during the TLS handshake'));
    };
    t.once('secure', () => {
      clearTimeout(timer);
      t.off('error', fail);
      t.off('end', fail);
      t.off('close', fail);
      resolve(t);
    });
    t.on('error', fail);
    t.once('end', fail);
    t.once('close', fail);
  });
}
