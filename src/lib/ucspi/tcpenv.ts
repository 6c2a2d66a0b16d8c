/**
 * tcpenv: the facts tcpserver gathers about a connection and the
 * environment edits it makes from them (tcpserver.c, tcp-environ(5);
 * ../shared/FORMATS.md section 8).
 *
 * Public functions:
 *   ipText(addr)          the text of an address as it goes into TCP*IP:
 *                         IPv4 dotted quad; a v4-mapped IPv6 address
 *                         (`::ffff:1.2.3.4`, a v4 client of a `::` server) as
 *                         the plain quad, so rules and programs see IPv4
 *                         exactly as with ucspi-tcp 0.88; IPv6 in RFC 5952
 *                         form (lowercase, `::`-compressed), as Node gives it;
 *                         PROTO stays `TCP` for IPv6 too (no TCP6* names), so
 *                         programs written for ucspi-tcp 0.88 need no change
 *   gather(q)             TCPLOCALHOST / TCPREMOTEHOST / TCPREMOTEINFO by DNS
 *                         and ident as the options say (lookups in parallel;
 *                         any failure leaves the variable unset)
 *   tcpEdits(f)           the eight PROTO/TCP* edits in tcpserver's order,
 *                         undefined values meaning "remove"
 */
import { nameOf, ipsOf } from './dns.ts';
import { remoteInfo } from './ident.ts';
import type { EnvEdit } from '../pathexec.ts';
import type { ConnFields } from './logline.ts';

/** Text of an address for TCPREMOTEIP/TCPLOCALIP (see the module comment). */
export function ipText(addr: string | undefined): string {
  if (addr === undefined) return '';
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  return m ? m[1] : addr;
}

export interface GatherQuery {
  env: Record<string, string | undefined>;
  localIp: string;
  localPort: string;
  remoteIp: string;
  remotePort: string;
  /** -l NAME; undefined = look it up */
  localName?: string;
  /** -h (default) / -H */
  remoteHost: boolean;
  /** -p: keep TCPREMOTEHOST only if the name's addresses include the client's */
  paranoid: boolean;
  /** -r (default) / -R */
  remoteInfo: boolean;
  /** -t: ident timeout, seconds */
  identTimeout: number;
}

async function nameOrUnset(env: Record<string, string | undefined>, ip: string): Promise<string | undefined> {
  try {
    const n = await nameOf(env, ip);
    return n === '' ? undefined : n;
  } catch {
    return undefined;
  }
}

async function remoteHostOf(q: GatherQuery): Promise<string | undefined> {
  const name = await nameOrUnset(q.env, q.remoteIp);
  if (name === undefined || !q.paranoid) return name;
  try {
    const ips = await ipsOf(q.env, name, q.remoteIp.includes(':'));
    return ips.includes(q.remoteIp) ? name : undefined;
  } catch {
    return undefined;
  }
}

/** The connection's fields with host names and ident answer filled in as the options say. */
export async function gather(q: GatherQuery): Promise<ConnFields> {
  const [localHost, remoteHost, info] = await Promise.all([
    q.localName !== undefined ? q.localName : nameOrUnset(q.env, q.localIp),
    q.remoteHost ? remoteHostOf(q) : undefined,
    q.remoteInfo
      ? remoteInfo({ remoteIp: q.remoteIp, remotePort: Number(q.remotePort), localIp: q.localIp, localPort: Number(q.localPort), timeout: q.identTimeout })
      : undefined,
  ]);
  return { localHost, localIp: q.localIp, localPort: q.localPort, remoteHost, remoteIp: q.remoteIp, remoteInfo: info, remotePort: q.remotePort };
}

/** PROTO, TCPLOCALIP, TCPLOCALPORT, TCPLOCALHOST, TCPREMOTEIP, TCPREMOTEPORT, TCPREMOTEHOST, TCPREMOTEINFO. */
export function tcpEdits(f: ConnFields): EnvEdit[] {
  return [
    { name: 'PROTO', value: 'TCP' },
    { name: 'TCPLOCALIP', value: f.localIp },
    { name: 'TCPLOCALPORT', value: f.localPort },
    { name: 'TCPLOCALHOST', value: f.localHost },
    { name: 'TCPREMOTEIP', value: f.remoteIp },
    { name: 'TCPREMOTEPORT', value: f.remotePort },
    { name: 'TCPREMOTEHOST', value: f.remoteHost },
    { name: 'TCPREMOTEINFO', value: f.remoteInfo },
  ];
}
