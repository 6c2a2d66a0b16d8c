/**
 * smtp/ipme: is an IPv4 address one of this host's (qmail's ipme.c, used by
 * qmail-smtpd for localiphost)? The set is 0.0.0.0 plus every IPv4 address
 * of the host's interfaces (os.networkInterfaces, i.e. getifaddrs), read
 * when first asked and again after a minute.
 */
import { networkInterfaces } from 'node:os';

let cached: { at: number; ips: Set<string> } | undefined;

/** This host's IPv4 addresses, dotted quads, plus 0.0.0.0. */
export function ipme(): Set<string> {
  const now = Date.now();
  if (cached && now - cached.at < 60_000) return cached.ips;
  const ips = new Set<string>(['0.0.0.0']);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4') ips.add(a.address);
  cached = { at: now, ips };
  return ips;
}

/** True when the dotted quad ip is one of this host's addresses. */
export function ipmeIs(ip: string): boolean {
  return ipme().has(ip);
}
