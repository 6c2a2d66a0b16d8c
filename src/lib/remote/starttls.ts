/**
 * remote/starttls: qmail-remote's optional opportunistic TLS (RFC 3207),
 * beyond qmail 1.03 (which says HELO only), as the widely used qmail TLS
 * patches do it, but never a reason to fail a delivery:
 *
 *   EHLO helohost            (refused: HELO helohost as qmail does)
 *   STARTTLS                 only when the EHLO reply lists it
 *   <TLS handshake>          no certificate check (opportunistic)
 *   EHLO helohost            again, inside TLS
 *
 * A STARTTLS command the server refuses leaves the session in the clear
 * (the EHLO stands). A failed handshake cannot be undone on that
 * connection: 'retry' tells the caller to reconnect and deliver without
 * TLS (the choice of the qmail TLS patches' "defer" left aside: a broken
 * TLS server must not hold mail up).
 */
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Peer } from './peer.ts';

/** 'ok' (go on with MAIL), 'rejected' (HELO refused too) or 'retry' (TLS failed: reconnect in the clear). */
export async function ehloStartTls(peer: Peer, helo: string): Promise<'ok' | 'rejected' | 'retry'> {
  await peer.write(`EHLO ${helo}\r\n`);
  if ((await peer.code()) !== 250) {
    await peer.write(`HELO ${helo}\r\n`);
    return (await peer.code()) === 250 ? 'ok' : 'rejected';
  }
  const lines = peer.takeText().toString('latin1').split('\n');
  if (!lines.some((l) => /^250[ -]STARTTLS\s*$/i.test(l))) return 'ok';
  await peer.write('STARTTLS\r\n');
  if ((await peer.code()) !== 220) return 'ok';
  const raw = peer.socket;
  const secure = await new Promise<TLSSocket | undefined>((resolve) => {
    const t = tlsConnect({ socket: raw, rejectUnauthorized: false });
    const timer = setTimeout(() => {
      t.destroy();
      resolve(undefined);
    }, 60_000);
    t.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(t);
    });
    t.once('error', () => {
      clearTimeout(timer);
      t.destroy();
      resolve(undefined);
    });
  });
  if (!secure) return 'retry';
  peer.rebind(secure);
  await peer.write(`EHLO ${helo}\r\n`);
  return (await peer.code()) === 250 ? 'ok' : 'rejected';
}
