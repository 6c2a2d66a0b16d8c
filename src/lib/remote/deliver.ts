/**
 * remote/deliver: one qmail-remote run as a function (qmail-remote(8)),
 * callable in-process by qmail-rspawn or from the qmail-remote program.
 *
 * Flow, as qmail-remote.c: check the qmail home (QMAILHOME) and read
 * control/timeoutremote (default 1200 s), timeoutconnect (60 s), helohost
 * (else me, else refuse to run) and smtproutes; route host through
 * smtproutes (remote/routes.ts) or its MX records (remote/mx.ts); drop
 * every address whose preference is not better than the best one that is
 * this host's own (ipme), unless routed; skip addresses qmail-tcpto
 * recorded as down (remote/tcpto.ts); connect to the others in order (port
 * 25, or the route's port) within timeoutconnect seconds, recording
 * timeouts; on the first connection speak SMTP: greeting 220, `HELO
 * helohost` 250, `MAIL FROM:<sender>`, one `RCPT TO:<recip>` per recipient,
 * `DATA`, the message (remote/blast.ts), `.`, `QUIT` (not waited for).
 *
 * Result: the report bytes qmail-remote prints on stdout: one recipient
 * report per RCPT (`r` accepted, `h` permanent, `s` temporary refusal,
 * followed by the refusing address and the server's text), then one
 * message report (`K` success, `Z` temporary, `D` permanent failure) with
 * its human-readable text; each report ends in a NUL byte. A failure before
 * any RCPT gives the message report alone. The texts are qmail-remote's,
 * byte for byte (see TEXT). The program always exits 0.
 *
 * Beyond the original (see RemoteJob's `tls`, control/tlsremote):
 * opportunistic STARTTLS, with EHLO and BODY=8BITMIME.
 */
import { accessSync, constants, readSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { Control } from '../control.ts';
import { ipmeIs } from '../smtp/ipme.ts';
import { addrmangle } from './addrmangle.ts';
import { blast } from './blast.ts';
import { aIps, mxIps, type MxResult } from './mx.ts';
import { Dropped, Peer } from './peer.ts';
import { Routes } from './routes.ts';
import { ehloStartTls } from './starttls.ts';
import { Tcpto, tcptoPath } from './tcpto.ts';

type Env = Record<string, string | undefined>;

/** qmail-remote's fixed message reports (qmail-remote.c temp_* / perm_*), letter first, no NUL. */
export const TEXT = {
  nomem: 'ZOut of memory. (#4.3.0)\n',
  oserr: 'ZSystem resources temporarily unavailable. (#4.3.0)\n',
  noconn: "ZSorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n",
  read: 'ZUnable to read message. (#4.3.0)\n',
  dns: "ZSorry, I couldn't find any host by that name. (#4.1.2)\n",
  chdir: 'ZUnable to switch to home directory. (#4.3.0)\n',
  control: 'ZUnable to read control files. (#4.3.0)\n',
  partialline: 'DSMTP cannot transfer messages with partial final lines. (#5.6.2)\n',
  usage: 'DI (qmail-remote) was invoked improperly. (#5.3.5)\n',
  nomx: "DSorry, I couldn't find a mail exchanger or IP address. (#5.4.4)\n",
  ambigmx: "DSorry. Although I'm listed as a best-preference MX or A for that host,\nit isn't in my control/locals file, so I don't treat it as local. (#5.4.6)\n",
} as const;

/** One remote delivery (qmail-remote's arguments and input). */
export interface RemoteJob {
  /** the recipients' host (argv[1]): a domain or `[1.2.3.4]` */
  host: string;
  /** envelope sender (argv[2]); '' for a bounce */
  sender: string;
  /** envelope recipients (argv[3...]); at least one */
  recipients: string[];
  /** the message: its bytes, or an open descriptor read from offset 0 (a queue/mess file) */
  message: Uint8Array | number;
  /** environment: QMAILHOME, DNSCACHEIP */
  env: Env;
  /** the qmail home (default from env, see qmailhome.ts; the caller passes qmailHome(env)) */
  home: string;
  /** pid for the random seed and the tcpto hold-off (default process.pid) */
  pid?: number;
  /** port when smtproutes names none (default 25, qmail's; tests use another) */
  port?: number;
  /**
   * Opportunistic STARTTLS (remote/starttls.ts). Default: control/tlsremote
   * holds a non-zero number; otherwise qmail's own dialogue, HELO only.
   * When on: EHLO (HELO again if EHLO is refused); STARTTLS when offered;
   * a failed TLS handshake is retried once on a new connection without TLS.
   */
  tls?: boolean;
}

/** Accumulates reports (qmail-remote's subfdoutsmall). */
class Out {
  parts: Buffer[] = [];
  put(s: string | Buffer): void {
    this.parts.push(typeof s === 'string' ? Buffer.from(s, 'latin1') : s);
  }
  zero(): void {
    this.parts.push(Buffer.alloc(1));
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** A report that ends the run (qmail-remote's zerodie). */
class Die {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

function readMessage(m: Uint8Array | number): Buffer {
  if (typeof m !== 'number') return Buffer.from(m.buffer, m.byteOffset, m.length);
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const b = Buffer.allocUnsafe(65536);
    const n = readSync(m, b, 0, b.length, pos);
    if (n === 0) break;
    parts.push(b.subarray(0, n));
    pos += n;
  }
  return Buffer.concat(parts);
}

/** outsafe: bytes outside 33..126 become `?`. */
function outsafe(s: string): string {
  return s.replace(/[^\x21-\x7e]/g, '?');
}

/** Connect within `secs`; 'timeout', 'error' or the socket. */
function timeoutConn(ip: string, port: number, secs: number): Promise<Socket | 'timeout' | 'error'> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port, family: 4 });
    const t = setTimeout(() => {
      s.destroy();
      resolve('timeout');
    }, secs * 1000);
    s.once('connect', () => {
      clearTimeout(t);
      s.setNoDelay(true);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', () => {
      clearTimeout(t);
      s.destroy();
      resolve('error');
    });
  });
}

interface Settings {
  /** control/tlsremote non-zero */
  tls: boolean;
  timeout: number;
  timeoutConnect: number;
  helo: string;
  routes: Routes;
}

function settings(home: string): Settings {
  try {
    accessSync(home, constants.X_OK);
  } catch {
    throw new Die(TEXT.chdir);
  }
  try {
    const c = new Control(home);
    const timeout = c.readint('timeoutremote') ?? 1200;
    const timeoutConnect = c.readint('timeoutconnect') ?? 60;
    const helo = c.readline('helohost') ?? c.me();
    if (helo === undefined) throw new Die(TEXT.control);
    const tls = (c.readint('tlsremote') ?? 0) !== 0;
    return { tls, timeout, timeoutConnect, helo, routes: new Routes(c.readfile('smtproutes') ?? []) };
  } catch (e) {
    if (e instanceof Die) throw e;
    throw new Die(TEXT.control);
  }
}

/**
 * Run one remote delivery (see the module comment) and give qmail-remote's
 * report bytes. Never rejects: every failure is a report.
 */
export async function deliverRemote(job: RemoteJob): Promise<Buffer> {
  const out = new Out();
  try {
    await run(job, out);
  } catch (e) {
    if (!(e instanceof Die)) throw e;
    out.put(e.text);
    out.zero();
  }
  return out.done();
}

async function run(job: RemoteJob, out: Out): Promise<void> {
  if (job.recipients.length < 1) throw new Die(TEXT.usage);
  const set = settings(job.home);
  let host = job.host;
  const route = set.routes.lookup(host);
  let port = job.port ?? 25;
  if (route) {
    if (route.port !== undefined) port = route.port;
    host = route.relay;
  }
  const sender = addrmangle(job.sender);
  const recips = job.recipients.map(addrmangle);
  let message: Buffer;
  try {
    message = readMessage(job.message);
  } catch {
    throw new Die(TEXT.read);
  }
  const pid = job.pid ?? process.pid;
  const random = (Math.floor(Date.now() / 1000) + ((pid << 16) >>> 0)) >>> 0;
  const r: MxResult = route ? await aIps(job.env, host) : await mxIps(job.env, host, random);
  if (r.kind === 'hard') throw new Die(`DSorry, I couldn't find any host named ${outsafe(host)}. (#5.1.2)\n`);
  if (r.kind === 'soft' && r.ips.length === 0) throw new Die(TEXT.dns);
  if (r.ips.length === 0) throw new Die(TEXT.nomx);
  let prefme = 100000;
  for (const x of r.ips) if (ipmeIs(x.ip) && x.pref < prefme) prefme = x.pref;
  if (route) prefme = 300000;
  if (!r.ips.some((x) => x.pref < prefme)) throw new Die(TEXT.ambigmx);
  const tcpto = new Tcpto(tcptoPath(job.home), pid);
  for (const x of r.ips) {
    if (x.pref >= prefme) continue;
    if (tcpto.isDown(x.ip)) continue;
    const s = await timeoutConn(x.ip, port, set.timeoutConnect);
    if (typeof s === 'string') {
      tcpto.recordResult(x.ip, s === 'timeout');
      continue;
    }
    tcpto.recordResult(x.ip, false);
    const peer = new Peer(s, set.timeout);
    const again = await smtp(peer, x.ip, set, sender, recips, message, out, job.tls ?? set.tls);
    if (!again) return;
    // a failed TLS handshake: the same address once more, in the clear
    const s2 = await timeoutConn(x.ip, port, set.timeoutConnect);
    if (typeof s2 === 'string') throw new Die(TEXT.noconn);
    await smtp(new Peer(s2, set.timeout), x.ip, set, sender, recips, message, out, false);
    return;
  }
  throw new Die(TEXT.noconn);
}

/**
 * The SMTP dialogue on a connected peer; reports go to out. Returns true
 * only when a STARTTLS handshake failed and the caller should reconnect
 * without TLS; everything else ends in a Die (the message report).
 */
async function smtp(peer: Peer, ip: string, set: Settings, sender: string, recips: string[], message: Buffer, out: Out, tls: boolean): Promise<boolean> {
  let critical = false;
  let body = '';
  const quit = async (prepend: string, append: string): Promise<never> => {
    try {
      await peer.write('QUIT\r\n');
    } catch {
      dropped();
    }
    const text = peer.takeText();
    peer.close();
    out.put(`${prepend}${ip}${append}.\n`);
    if (text.length > 0) {
      out.put('Remote host said: ');
      out.put(text);
    }
    throw new Die('');
  };
  const dropped = (): never => {
    peer.close();
    throw new Die(`ZConnected to ${ip} but connection died. ${critical ? 'Possible duplicate! ' : ''}(#4.4.2)\n`);
  };
  try {
    if ((await peer.code()) !== 220) await quit('ZConnected to ', ' but greeting failed');
    if (tls) {
      const r = await ehloStartTls(peer, set.helo, set.timeout);
      if (r.result === 'retry') {
        peer.close();
        return true;
      }
      if (r.result === 'rejected') await quit('ZConnected to ', ' but my name was rejected');
      if (r.eightbit && message.some((c) => c > 127)) body = ' BODY=8BITMIME';
    } else {
      await peer.write(`HELO ${set.helo}\r\n`);
      if ((await peer.code()) !== 250) await quit('ZConnected to ', ' but my name was rejected');
    }
    await peer.write(`MAIL FROM:<${sender}>${body}\r\n`);
    let code = await peer.code();
    if (code >= 500) await quit('DConnected to ', ' but sender was rejected');
    if (code >= 400) await quit('ZConnected to ', ' but sender was rejected');
    let bother = false;
    for (const rcpt of recips) {
      await peer.write(`RCPT TO:<${rcpt}>\r\n`);
      code = await peer.code();
      if (code >= 400) {
        out.put(`${code >= 500 ? 'h' : 's'}${ip} does not like recipient.\n`);
        const text = peer.takeText();
        if (text.length > 0) {
          out.put('Remote host said: ');
          out.put(text);
        }
        out.zero();
      } else {
        out.put('r');
        out.zero();
        bother = true;
      }
    }
    if (!bother) await quit('DGiving up on ', '');
    await peer.write('DATA\r\n');
    code = await peer.code();
    if (code >= 500) await quit('D', ' failed on DATA command');
    if (code >= 400) await quit('Z', ' failed on DATA command');
    const { data, partial } = blast(message);
    // 64 KB at a time, each with its own timeoutremote; the final `.` goes
    // with the last piece, which is when a lost reply may mean a duplicate
    const CHUNK = 65536;
    for (let i = 0; i < data.length; i += CHUNK) {
      const last = i + CHUNK >= data.length;
      if (last && !partial) critical = true;
      await peer.write(data.subarray(i, Math.min(data.length, i + CHUNK)));
    }
    if (partial) {
      peer.close();
      throw new Die(TEXT.partialline);
    }
    code = await peer.code();
    critical = false;
    if (code >= 500) await quit('D', ' failed after I sent the message');
    if (code >= 400) await quit('Z', ' failed after I sent the message');
    await quit('K', ' accepted message');
  } catch (e) {
    if (e instanceof Dropped) dropped();
    throw e;
  }
  return false;
}
