/**
 * remote/mx: where qmail-remote connects for a host (qmail's dns.c
 * dns_mxip/dns_ip, RFC 5321 section 5.1), asking the resolver of
 * ucspi/dns.ts (DNSCACHEIP, else /etc/resolv.conf). IPv4 only, as qmail.
 *
 * - A literal `1.2.3.4` or `[1.2.3.4]` is its own answer, preference 0.
 * - mxIps: MX records of host, ordered by preference, the lowest first;
 *   among records of equal preference the order is random (qmail's
 *   69069 LCG seeded by the caller: `now + (pid << 16)`). Each exchanger's A
 *   records follow in that order, carrying the MX preference. No MX
 *   records (NXDOMAIN or none of that type): host's own A records, as an
 *   implicit MX of preference 0.
 * - aIps: A records of a relay (smtproutes), preference 0.
 *
 * Result kinds, as dns.c: 'ok' with the list; 'soft' (temporary: SERVFAIL,
 * timeout, refused; for mxIps also any exchanger whose A lookup failed
 * temporarily, with whatever addresses were found); 'hard' (the name or its
 * A records do not exist, after falling back from MX).
 */
import { resolverFor } from '../ucspi/dns.ts';

type Env = Record<string, string | undefined>;

/** An address to try and the MX preference it came with. */
export interface MxIp {
  ip: string;
  pref: number;
}

/** A lookup's outcome (see module comment). */
export interface MxResult {
  kind: 'ok' | 'soft' | 'hard';
  ips: MxIp[];
}

/** The dotted quad of `1.2.3.4` or `[1.2.3.4]` (each part mod 256, as ip_scan), else undefined. */
export function ipLiteral(s: string): string | undefined {
  const m = /^\[?([0-9]+)\.([0-9]+)\.([0-9]+)\.([0-9]+)\]?$/.exec(s);
  if (!m || (s.startsWith('[') !== s.endsWith(']'))) return undefined;
  return m.slice(1, 5).map((x) => Number(x) % 256).join('.');
}

function hard(e: unknown): boolean {
  const c = (e as { code?: string }).code;
  return c === 'ENOTFOUND' || c === 'ENODATA';
}

/** A records of name (or a literal), with preference pref. */
export async function aIps(env: Env, name: string, pref = 0): Promise<MxResult> {
  const lit = ipLiteral(name);
  if (lit !== undefined) return { kind: 'ok', ips: [{ ip: lit, pref }] };
  try {
    const ips = await resolverFor(env).resolve4(name);
    return { kind: 'ok', ips: ips.map((ip) => ({ ip, pref })) };
  } catch (e) {
    return { kind: hard(e) ? 'hard' : 'soft', ips: [] };
  }
}

/**
 * The addresses of host's mail exchangers in the order to try them (see the
 * module comment). `random` seeds the shuffle among equal preferences.
 */
export async function mxIps(env: Env, host: string, random: number): Promise<MxResult> {
  const lit = ipLiteral(host);
  if (lit !== undefined) return { kind: 'ok', ips: [{ ip: lit, pref: 0 }] };
  let mx: { exchange: string; priority: number }[];
  try {
    mx = await resolverFor(env).resolveMx(host);
  } catch (e) {
    if (hard(e)) return aIps(env, host);
    return { kind: 'soft', ips: [] };
  }
  if (mx.length === 0) return aIps(env, host);
  const order = mxOrder(mx.map((m) => m.priority), random);
  const lookups = await Promise.all(order.map((i) => aIps(env, mx[i].exchange, mx[i].priority)));
  const ips: MxIp[] = [];
  let soft = false;
  for (const r of lookups) {
    if (r.kind === 'soft') soft = true;
    ips.push(...r.ips);
  }
  return { kind: soft ? 'soft' : 'ok', ips };
}

/**
 * The order in which to use MX records of the given preferences: indexes,
 * lowest preference first, ties broken by qmail's LCG (random = random *
 * 69069 + 1 per tie seen; the later record wins a tie when
 * random/2 < 2147483647/numsame). Deterministic for a given seed.
 * The arithmetic is 32-bit, as on the machines qmail was written for: with
 * a 64-bit unsigned long the test almost never passes and equal MXes would
 * always be used in record order, defeating RFC 5321's load spreading.
 */
export function mxOrder(prefs: number[], random: number): number[] {
  const left = prefs.map((p, i) => ({ p, i }));
  const out: number[] = [];
  let r = BigInt.asUintN(32, BigInt(Math.max(0, Math.floor(random))));
  while (left.length > 0) {
    let best = 0;
    let numsame = 1n;
    for (let j = 1; j < left.length; j++) {
      if (left[j].p < left[best].p) {
        best = j;
        numsame = 1n;
      } else if (left[j].p === left[best].p) {
        numsame++;
        r = BigInt.asUintN(32, r * 69069n + 1n);
        if (r / 2n < 2147483647n / numsame) best = j;
      }
    }
    out.push(left[best].i);
    // dns.c moves the last record into the chosen one's slot
    const last = left.pop()!;
    if (best < left.length) left[best] = last;
  }
  return out;
}
