/**
 * dns: the DNS questions ucspi-tcp asks (dns_name4, dns_ip4, dns_txt in
 * ucspi-tcp 0.88; ../shared/FORMATS.md sections 8-10), through Node's c-ares
 * resolver pointed at the servers djbdns programs use: `$DNSCACHEIP` (IPs
 * separated by spaces, tabs or commas, port 53), else /etc/resolv.conf.
 * Tests run a tiny DNS server on a 127.x address and set DNSCACHEIP.
 *
 * Public functions:
 *   resolverFor(env)            a Resolver for DNSCACHEIP (cached per value)
 *   nameOf(env, ip)             reverse name as dns_domain_todot_cat prints it;
 *                               '' when there is no PTR; throws on failure
 *   ipsOf(env, name, v6)        A (or AAAA) addresses of name ([] if none)
 *   txtOf(env, name)            TXT strings concatenated; '' if none
 *   djbName(name)               lowercase, `[a-z0-9_-.]` kept, others `\ooo`
 *
 * Errors: lookups that fail temporarily (SERVFAIL, timeout, refused) throw an
 * Error whose `.code` is c-ares' (ESERVFAIL, ETIMEOUT, ...). An answer of
 * "no such name" or "no such record" is a successful empty answer, as
 * djbdns treats NXDOMAIN. Timeouts follow djbdns' schedule roughly: 4 tries,
 * first after 1 s, backing off.
 */
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';

const resolvers = new Map<string, Resolver>();

/** The Resolver for env.DNSCACHEIP (system servers when unset). */
export function resolverFor(env: Record<string, string | undefined>): Resolver {
  const key = env.DNSCACHEIP ?? '';
  let r = resolvers.get(key);
  if (!r) {
    r = new Resolver({ timeout: 1000, tries: 4 });
    const ips = key.split(/[\s,]+/).filter((s) => isIP(s) !== 0);
    if (ips.length > 0) r.setServers(ips);
    resolvers.set(key, r);
  }
  return r;
}

/** True for c-ares codes meaning "the name or record does not exist". */
function isEmptyAnswer(e: unknown): boolean {
  const c = (e as { code?: string }).code;
  return c === 'ENOTFOUND' || c === 'ENODATA';
}

/**
 * A domain name as djbdns prints it (dns_domain_todot_cat): lowercase,
 * letters, digits, `-`, `_` and the dots between labels kept, every other
 * byte as a backslash and three octal digits. c-ares hands escaped bytes
 * back as `\DDD` (decimal) or `\c`; those are decoded first.
 */
export function djbName(name: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(name, 'latin1');
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === 0x5c && i + 1 < raw.length) {
      const m = /^\d{3}/.exec(name.slice(i + 1, i + 4));
      if (m) {
        bytes.push((Number(m[0]) & 255) | 0x100); // escaped: a dot here is not a separator
        i += 3;
      } else {
        bytes.push(raw[i + 1] | 0x100); // an escaped literal: never a separator
        i += 1;
      }
    } else bytes.push(c);
  }
  let out = '';
  for (const b0 of bytes) {
    const escaped = b0 > 255;
    let b = b0 & 255;
    if (b >= 0x41 && b <= 0x5a) b += 32;
    const ok = (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x5f || (b === 0x2e && !escaped);
    out += ok ? String.fromCharCode(b) : '\\' + b.toString(8).padStart(3, '0');
  }
  if (out.endsWith('.') && out.length > 1) out = out.slice(0, -1);
  return out;
}

/** The PTR name of an address: `4.3.2.1.in-addr.arpa`, or nibbles + `.ip6.arpa` for IPv6. */
export function arpaName(ip: string): string {
  if (isIP(ip) === 4) return ip.split('.').reverse().join('.') + '.in-addr.arpa';
  const [head, tail = ''] = ip.split('::');
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  let h = groups(head);
  let t = groups(tail);
  const v4 = (g: string[]): string[] => {
    const last = g[g.length - 1];
    if (last === undefined || !last.includes('.')) return g;
    const b = last.split('.').map(Number);
    return [...g.slice(0, -1), ((b[0] << 8) | b[1]).toString(16), ((b[2] << 8) | b[3]).toString(16)];
  };
  if (ip.includes('::')) t = v4(t);
  else h = v4(h);
  const all = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const hex = all.map((g) => g.padStart(4, '0')).join('');
  return [...hex].reverse().join('.') + '.ip6.arpa';
}

/**
 * Reverse lookup (PTR) of an IPv4 or IPv6 address in DNS only (no
 * /etc/hosts, as djbdns): the first name, in djbName() form; '' when the
 * name has no PTR record. Throws on a temporary failure.
 */
export async function nameOf(env: Record<string, string | undefined>, ip: string): Promise<string> {
  try {
    const names = await resolverFor(env).resolvePtr(arpaName(ip));
    return names.length > 0 ? djbName(names[0]) : '';
  } catch (e) {
    if (isEmptyAnswer(e)) return '';
    throw e;
  }
}

/** A (or with v6, AAAA) addresses of name; a literal address is its own answer. */
export async function ipsOf(env: Record<string, string | undefined>, name: string, v6 = false): Promise<string[]> {
  const lit = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
  if (isIP(lit) !== 0) return [lit];
  try {
    const r = resolverFor(env);
    return v6 ? await r.resolve6(name) : await r.resolve4(name);
  } catch (e) {
    if (isEmptyAnswer(e)) return [];
    throw e;
  }
}

/** All TXT strings of all TXT records of name, concatenated ('' if none). */
export async function txtOf(env: Record<string, string | undefined>, name: string): Promise<string> {
  try {
    const recs = await resolverFor(env).resolveTxt(name);
    return recs.map((r) => r.join('')).join('');
  } catch (e) {
    if (isEmptyAnswer(e)) return '';
    throw e;
  }
}
