/**
 * send/rewrite: how qmail-send sorts a recipient into the local or the
 * remote channel and rewrites it on the way (qmail-send(8) CONTROL FILES;
 * qmail-send.c's rewrite and stripvdomprepend):
 *
 *  1. no `@`: append `@envnoathost`;
 *  2. while the domain is listed in percenthack and the box holds a `%`,
 *     the last `%` becomes the `@` (`user%fqdn@domain` -> `user@fqdn`);
 *  3. a domain listed in locals: local, unchanged;
 *  4. virtualdomains, tried for the whole address `user@domain`, then the
 *     domain, then each `.suffix` of it, then the empty key `:prepend`:
 *     the first hit with a non-empty prepend makes it local as
 *     `prepend-user@domain`; an empty prepend is an exception (stop);
 *  5. otherwise remote, unchanged.
 *
 * Domain lookups are case-insensitive, as qmail's constmap; when a key is
 * listed twice, the later line wins (constmap's chain order).
 * Strings are latin1 (one char a byte).
 */

/** The control data rewriting needs (qmail-send's getcontrols). */
export interface RewriteMaps {
  /** control/locals, lower-cased */
  locals: Set<string>;
  /** control/percenthack, lower-cased */
  percenthack: Set<string>;
  /** control/virtualdomains: lower-cased key -> prepend */
  vdoms: Map<string, string>;
  /** control/envnoathost */
  envnoathost: string;
}

/** 0 = local (qmail-lspawn), 1 = remote (qmail-rspawn). */
export type Channel = 0 | 1;

/**
 * Build the maps from control-file lines (readfile() values). virtualdomains
 * lines are `key:prepend`; a line without `:` is ignored (constmap).
 */
export function makeMaps(locals: string[], percenthack: string[], vdomLines: string[], envnoathost: string): RewriteMaps {
  const vdoms = new Map<string, string>();
  for (const l of vdomLines) {
    const k = l.indexOf(':');
    if (k >= 0) vdoms.set(l.slice(0, k).toLowerCase(), l.slice(k + 1));
  }
  return {
    locals: new Set(locals.map((s) => s.toLowerCase())),
    percenthack: new Set(percenthack.map((s) => s.toLowerCase())),
    vdoms,
    envnoathost,
  };
}

/** Rewrite one recipient: its channel and the address to deliver to. */
export function rewrite(recip: string, m: RewriteMaps): { channel: Channel; addr: string } {
  let addr = recip;
  let i = addr.lastIndexOf('@');
  if (i < 0) {
    i = addr.length;
    addr = `${addr}@${m.envnoathost}`;
  }
  while (m.percenthack.has(addr.slice(i + 1).toLowerCase())) {
    const j = addr.lastIndexOf('%', i - 1);
    if (j < 0) break;
    addr = `${addr.slice(0, j)}@${addr.slice(j + 1, i)}`;
    i = j;
  }
  const at = addr.lastIndexOf('@');
  if (m.locals.has(addr.slice(at + 1).toLowerCase())) return { channel: 0, addr };
  const lower = addr.toLowerCase();
  for (let k = 0; k <= addr.length; k++) {
    if (!(k === 0 || k === at + 1 || k === addr.length || (k > at && addr[k] === '.'))) continue;
    const x = m.vdoms.get(lower.slice(k));
    if (x === undefined) continue;
    if (x === '') break;
    return { channel: 0, addr: `${x}-${addr}` };
  }
  return { channel: 1, addr };
}

/**
 * The address as a bounce should name it: a local address rewritten by a
 * virtual domain `prepend-user@domain` loses its `prepend-` again
 * (stripvdomprepend; the whole-address `user@domain` keys are not tried).
 */
export function stripVdomPrepend(recip: string, m: RewriteMaps): string {
  const i = recip.lastIndexOf('@');
  if (i < 0) return recip;
  const domain = recip.slice(i + 1).toLowerCase();
  for (let k = 0; k <= domain.length; k++) {
    if (!(k === 0 || k === domain.length || domain[k] === '.')) continue;
    const p = m.vdoms.get(domain.slice(k));
    if (p === undefined) continue;
    if (p === '') break;
    if (!recip.startsWith(p) || recip[p.length] !== '-') break;
    return recip.slice(p.length + 1);
  }
  return recip;
}
