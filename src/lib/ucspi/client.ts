/**
 * client: how tcpclient finds and connects to its server (tcpclient.c;
 * ../shared/FORMATS.md section 9), shared by tcpclient and the small clients
 * built on it (tcpcat, mconnect, who@, date@, finger@, http@).
 *
 * Public functions:
 *   scanIp4(s)                     a dotted quad as ip4_scan reads it
 *   serverAddresses(env, host)     host `0`/empty = 127.0.0.1, literal IPv4
 *                                  (leading zeros, `[ ]`) or IPv6, else A
 *                                  records via $DNSCACHEIP; throws ClientFatal
 *   connectFirst(ips, port, o)     -T c1+c2 connection attempts; warns
 *                                  `tcpclient: unable to connect to IP port N:
 *                                  <err>` per failure (verbosity >= 1); the
 *                                  connected, paused socket or undefined
 *   clientTarget(env, host, port)  both arguments as tcpclient checks them
 * ClientFatal carries the text of `tcpclient: fatal: TEXT` (exit 111).
 */
import { connect, isIPv6, type Socket } from 'node:net';
import { errstr } from '../errstr.ts';
import { errline } from '../strerr.ts';
import { ipsOf } from './dns.ts';
import { dnsErrno, portOf } from './hostport.ts';

/** A fatal tcpclient error: `tcpclient: fatal: ${message}`, exit 111. */
export class ClientFatal extends Error {}

/** A dotted quad as ip4_scan reads it (leading zeros, optional brackets), normalised; or undefined. */
export function scanIp4(s: string): string | undefined {
  const m = /^\[?(\d+)\.(\d+)\.(\d+)\.(\d+)\]?$/.exec(s);
  if (!m) return undefined;
  const b = m.slice(1).map(Number);
  return b.every((x) => x <= 255) ? b.join('.') : undefined;
}

/** The addresses to try for host (see the module comment). */
export async function serverAddresses(env: Record<string, string | undefined>, hostArg: string): Promise<string[]> {
  const host = hostArg === '' || hostArg === '0' ? '127.0.0.1' : hostArg;
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  const lit = scanIp4(host) ?? (isIPv6(bare) ? bare : undefined);
  if (lit !== undefined) return [lit];
  let ips: string[];
  try {
    ips = await ipsOf(env, host);
  } catch (e) {
    throw new ClientFatal(`temporarily unable to figure out IP address for ${hostArg}: ${errstr({ code: dnsErrno(e) })}`);
  }
  if (ips.length === 0) throw new ClientFatal(`no IP address for ${hostArg}`);
  return ips;
}

/** Port and addresses for `host port`, or throws ClientFatal with the original's text. */
export async function clientTarget(env: Record<string, string | undefined>, host: string, port: string): Promise<{ port: number; ips: string[] }> {
  const p = portOf(port);
  if (p === undefined) throw new ClientFatal(`unable to figure out port number for ${port}`);
  return { port: p, ips: await serverAddresses(env, host) };
}

export interface ConnectOptions {
  localIp?: string;
  localPort?: number;
  /** -T c1+c2, seconds */
  c1: number;
  c2: number;
  verbosity: number;
}

function tryConnect(ip: string, port: number, o: ConnectOptions, seconds: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: ip, port, localAddress: o.localIp, localPort: o.localPort || undefined });
    const t = setTimeout(() => {
      s.destroy();
      reject(Object.assign(new Error('ETIMEDOUT'), { code: 'ETIMEDOUT' }));
    }, seconds * 1000);
    s.once('connect', () => {
      clearTimeout(t);
      s.pause();
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/**
 * Try the addresses: a single one for c1+c2 seconds; several for c1 each,
 * then the ones that timed out for c2. Resolves the first connected socket
 * (paused), or undefined when all failed.
 */
export async function connectFirst(ips: string[], port: number, o: ConnectOptions): Promise<Socket | undefined> {
  let round: Array<[string, number]> = ips.length === 1 ? [[ips[0], o.c1 + o.c2]] : ips.map((ip) => [ip, o.c1]);
  for (let r = 0; r < 2 && round.length > 0; r++) {
    const again: Array<[string, number]> = [];
    for (const [ip, secs] of round) {
      try {
        return await tryConnect(ip, port, o, secs);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ETIMEDOUT' && ips.length > 1) again.push([ip, o.c2]);
        if (o.verbosity >= 1) errline(`tcpclient: unable to connect to ${ip} port ${port}: ${errstr(e)}`);
      }
    }
    round = again;
  }
  return undefined;
}
