/**
 * remote/starttls: qmail-remote's optional opportunistic TLS (RFC 3207),
 * beyond qmail 1.03 (which says HELO only), as the widely used qmail TLS
 * patches do it, but never a reason to fail a delivery:
 *
 *   EHLO helohost            (refused: HELO helohost as qmail does)
 *   STARTTLS                 only when the EHLO reply lists it
 *   <TLS handshake>          no certificate check (opportunistic)
 *   EHLO helohost            again, inside TLS
 *   MAIL FROM:<s> BODY=8BITMIME   when the message has a byte above 127
 *                            and the server listed 8BITMIME (RFC 6152)
 *
 * A STARTTLS command the server refuses leaves the session in the clear
 * (the EHLO stands). A failed handshake cannot be undone on that
 * connection: 'retry' tells the caller to reconnect and deliver without
 * TLS (the choice of the qmail TLS patches' "defer" left aside: a broken
 * TLS server must not hold mail up).
 */
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Peer } from './peer.ts';

/** The EHLO keywords of a 250 reply's text (upper case, first word of each line after the first). */
function keywords(text: Buffer): Set<string> {
  const lines = text.toString('latin1').split('\n').slice(1);
  return new Set(lines.map((l) => l.slice(4).split(' ')[0].trim().toUpperCase()).filter((k) => k !== ''));
}

/**
 * Greet and upgrade; `timeout` (seconds, timeoutremote) bounds the TLS
 * handshake. How the dialogue went: 'ok' (go on with MAIL; `eightbit` when the
 * server's last EHLO listed 8BITMIME), 'rejected' (HELO refused too) or
 * 'retry' (TLS failed: reconnect in the clear).
 */
export async function ehloStartTls(peer: Peer, helo: string, timeout: number): Promise<{ result: 'ok' | 'rejected' | 'retry'; eightbit: boolean }> {
  await peer.write(`EHLO ${helo}\r\n`);
  if ((await peer.code()) !== 250) {
    await peer.write(`HELO ${helo}\r\n`);
    return { result: (await peer.code()) === 250 ? 'ok' : 'rejected', eightbit: false };
  }
  let kw = keywords(peer.takeText());
  if (!kw.has('STARTTLS')) return { result: 'ok', eightbit: kw.has('8BITMIME') };
  await peer.write('STARTTLS\r\n');
  if ((await peer.code()) !== 220) return { result: 'ok', eightbit: kw.has('8BITMIME') };
  const raw = peer.socket;
  const secure = await new Promise<TLSSocket | undefined>((resolve) => {
    const t = tlsConnect({ socket: raw, rejectUnauthorized: false });
    const timer = setTimeout(() => {
      t.destroy();
      resolve(undefined);
    }, timeout * 1000);
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
  if (!secure) return { result: 'retry', eightbit: false };
  peer.rebind(secure);
  await peer.write(`EHLO ${helo}\r\n`);
  if ((await peer.code()) !== 250) return { result: 'rejected', eightbit: false };
  kw = keywords(peer.takeText());
  return { result: 'ok', eightbit: kw.has('8BITMIME') };
}
