/**
 * tcpclient [-hHrRdDqQv] [-i localip] [-p localport] [-T c1[+c2]]
 *   [-l localname] [-t timeout] host port program [arg...]
 *
 * Connects to host:port and execs program with the connection on fds 6
 * (read) and 7 (write) and the tcp-environ(5) variables set (tcpclient(1),
 * ucspi-tcp 0.88; ../shared/FORMATS.md section 9). stdin/stdout untouched.
 *
 * host `0` or empty = 127.0.0.1; dotted quads (leading zeros and `[ ]`
 * allowed), IPv6 literals (our extension), or a name looked up (A records)
 * through $DNSCACHEIP. Connect timeout -T c1+c2 (2+58): every address is
 * tried for c1 seconds, then those that timed out for c2; a single address
 * gets c1+c2 at once. Environment (in this order, pathexec_env): PROTO=TCP,
 * TCPLOCALPORT, TCPLOCALIP, TCPLOCALHOST (-l name, else reverse DNS: set to
 * '' when there is no PTR, unset when the lookup fails), TCPREMOTEPORT,
 * TCPREMOTEIP, TCPREMOTEHOST (same rule; -H: unset), TCPREMOTEINFO (ident
 * to the server's port 113 within -t seconds, 26; -R: unset).
 *
 * Messages: `tcpclient: unable to connect to IP port N: <err>` per failed
 * attempt (not with -q), `tcpclient: connected to IP port N` (-v),
 * `tcpclient: fatal: no IP address for H`, `temporarily unable to figure out
 * IP address for H: <err>`, `unable to figure out port number for X`,
 * `unable to run PROG: <err>`. Exit 100 usage, 111 failures, else program's.
 */
import type { Ctx } from '../src/lib/program.ts';
import { sgetopt } from '../src/lib/sgetopt.ts';
import { Exit, errline } from '../src/lib/strerr.ts';
import { errstr } from '../src/lib/errstr.ts';
import { sys } from '../src/lib/native.ts';
import { execOrDie } from '../src/lib/pathexec.ts';
import { socketFd } from '../src/lib/chain.ts';
import { nameOf } from '../src/lib/ucspi/dns.ts';
import { ClientFatal, clientTarget, connectFirst, scanIp4 } from '../src/lib/ucspi/client.ts';
import { remoteInfo } from '../src/lib/ucspi/ident.ts';
import { ipText } from '../src/lib/ucspi/tcpenv.ts';
import { portOf, scanUlong } from '../src/lib/ucspi/hostport.ts';

const USAGE =
  'tcpclient: usage: tcpclient [ -hHrRdDqQv ] [ -i localip ] [ -p localport ] [ -T timeoutconn ] [ -l localname ] [ -t timeoutinfo ] host port program';

async function hostName(env: Record<string, string | undefined>, ip: string): Promise<string | undefined> {
  try {
    return await nameOf(env, ip);
  } catch {
    return undefined;
  }
}

export async function main(ctx: Ctx): Promise<number> {
  const p = sgetopt('tcpclient', ctx.argv.slice(1), 'dDvqQhHrRi:p:t:T:l:');
  let verbosity = 1;
  let lookupHost = true;
  let lookupInfo = true;
  let noDelay = false;
  let localIp: string | undefined;
  let localPort = 0;
  let identTimeout = 26;
  let c1 = 2;
  let c2 = 58;
  let localName: string | undefined;
  for (const o of p.opts) {
    const a = o.arg ?? '';
    switch (o.opt) {
      case 'd': noDelay = false; break;
      case 'D': noDelay = true; break;
      case 'v': verbosity = 2; break;
      case 'q': verbosity = 0; break;
      case 'Q': verbosity = 1; break;
      case 'h': lookupHost = true; break;
      case 'H': lookupHost = false; break;
      case 'r': lookupInfo = true; break;
      case 'R': lookupInfo = false; break;
      case 'i': localIp = scanIp4(a) ?? a; break;
      case 'p': localPort = portOf(a) ?? 0; break;
      case 't': identTimeout = scanUlong(a)[0]; break;
      case 'T': {
        const [x, n] = scanUlong(a);
        c1 = x;
        if (a[n] === '+') c2 = scanUlong(a.slice(n + 1))[0];
        break;
      }
      case 'l': localName = a; break;
      default:
        errline(USAGE);
        throw new Exit(100);
    }
  }
  const [hostArg, portArg, ...prog] = p.rest;
  if (hostArg === undefined || portArg === undefined || prog.length === 0) {
    errline(USAGE);
    throw new Exit(100);
  }
  const fatal = (text: string, err?: unknown): never => {
    if (verbosity >= 1) errline(`tcpclient: fatal: ${text}${err === undefined ? '' : ': ' + errstr(err)}`);
    throw new Exit(111);
  };
  let target: { port: number; ips: string[] };
  try {
    target = await clientTarget(ctx.env, hostArg, portArg);
  } catch (e) {
    if (e instanceof ClientFatal) return fatal(e.message);
    throw e;
  }
  const sock = await connectFirst(target.ips, target.port, { localIp, localPort, c1, c2, verbosity });
  if (!sock) throw new Exit(111);
  if (noDelay) sock.setNoDelay(true);
  const remoteIp = ipText(sock.remoteAddress);
  const localIpNow = ipText(sock.localAddress);
  const remotePort = String(sock.remotePort ?? target.port);
  const localPortNow = String(sock.localPort ?? 0);
  if (verbosity >= 2) errline(`tcpclient: connected to ${remoteIp} port ${remotePort}`);

  const [lh, rh, info] = await Promise.all([
    localName !== undefined ? localName : hostName(ctx.env, localIpNow),
    lookupHost ? hostName(ctx.env, remoteIp) : undefined,
    lookupInfo
      ? remoteInfo({ remoteIp, remotePort: Number(remotePort), localIp: localIpNow, localPort: Number(localPortNow), timeout: identTimeout })
      : undefined,
  ]);
  const fd = socketFd(sock);
  if (fd === undefined) return fatal('unable to connect', Object.assign(new Error(), { code: 'EBADF' }));
  sys.nonblock(fd, false);
  sys.dup2(fd, 6);
  sys.dup2(fd, 7);
  sys.cloexec(fd, true); // the program must see the connection on 6 and 7 only
  execOrDie('tcpclient', prog, ctx.env, [
    { name: 'PROTO', value: 'TCP' },
    { name: 'TCPLOCALPORT', value: localPortNow },
    { name: 'TCPLOCALIP', value: localIpNow },
    { name: 'TCPLOCALHOST', value: lh },
    { name: 'TCPREMOTEPORT', value: remotePort },
    { name: 'TCPREMOTEIP', value: remoteIp },
    { name: 'TCPREMOTEHOST', value: rh },
    { name: 'TCPREMOTEINFO', value: info },
  ]);
}
