/**
 * hostport: how ucspi-tcp programs read their `host port` arguments
 * (tcpserver.c, tcpclient.c; ../shared/FORMATS.md sections 8-9).
 *
 * Public functions:
 *   scanUlong(s)         DJB's scan_ulong: the leading decimal digits as a
 *                        number (0 when there are none) and how many were used
 *   portOf(s)            a port: all-decimal text (empty = 0), else a tcp
 *                        name from /etc/services (name or alias); undefined
 *                        when unknown
 *   dnsErrno(e)          the errno name a failed lookup reports (c-ares'
 *                        ETIMEOUT -> ETIMEDOUT, others -> EAGAIN, DJB's
 *                        "temporary failure")
 */
import { readFileSync } from 'node:fs';

/** [value, digits used] of the leading decimal digits of s. */
export function scanUlong(s: string): [number, number] {
  let n = 0;
  let i = 0;
  while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) {
    n = n * 10 + (s.charCodeAt(i) - 48);
    i++;
  }
  return [n, i];
}

/** Port number for s (see the module comment), or undefined. */
export function portOf(s: string, servicesFile = '/etc/services'): number | undefined {
  const [n, used] = scanUlong(s);
  if (used === s.length) return n & 0xffff;
  let text: string;
  try {
    text = readFileSync(servicesFile, 'latin1');
  } catch {
    return undefined;
  }
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [name, pp, ...aliases] = line.split(/\s+/);
    const m = /^(\d+)\/tcp$/.exec(pp ?? '');
    if (m && (name === s || aliases.includes(s))) return Number(m[1]);
  }
  return undefined;
}

/** The errno name to report for a failed DNS lookup. */
export function dnsErrno(e: unknown): string {
  const c = (e as { code?: string }).code;
  if (c === 'ETIMEOUT') return 'ETIMEDOUT';
  if (c === 'ECONNREFUSED') return c;
  return 'EAGAIN';
}
