/**
 * tcpserver [-146pPhHrRoOdDqQvUX1] [-c limit] [-x rules.cdb] [-B banner]
 *   [-g gid] [-u uid] [-b backlog] [-l localname] [-t timeout] host port program...
 *
 * Accepts TCP connections and runs program for each with the connection on
 * fds 0/1 and the tcp-environ(5) variables set (tcpserver(1), ucspi-tcp
 * 0.88; ../shared/FORMATS.md section 8). Our own programs that opt in run
 * in-process (src/lib/inprocess.ts); see src/lib/ucspi/server.ts for the
 * per-connection flow, the log lines and the pseudo-pids.
 *
 * Options as the original: -c limit (40), -b backlog (20), -x/-X rules, -B
 * banner, -g/-u/-U (privileges dropped after bind; 0 = keep), -1 (print the
 * port), -l localname, -h/-H, -p/-P, -r/-R, -t ident timeout (26 s), -d/-D
 * (TCP_NODELAY off/on), -o/-O (accepted; Node cannot clear IP options, and
 * Linux ignores source routes by default), -q/-Q/-v. Additions: host `::`,
 * `::1` or any IPv6 address listens on IPv6 (`::` also takes IPv4 clients,
 * whose addresses appear as plain dotted quads); -6 makes host `0` mean `::`
 * and IPv6-only sockets (no v4-mapped clients), -4 (default) keeps IPv4.
 * The usage line is the original's, byte for byte.
 *
 * Exit: 100 usage; 111 `tcpserver: fatal: unable to bind: ...`, `unable to
 * figure out port number for X`, `no IP address for H`, `temporarily unable
 * to figure out IP address for H: ...`, `unable to set gid|uid: ...`;
 * 0 after SIGTERM. -q silences every message, usage included (except for a
 * bad option, reported while parsing as the original does).
 */
import { closeSync, openSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Ctx } from '../src/lib/program.ts';
import { sgetopt } from '../src/lib/sgetopt.ts';
import { Exit, errline, writeAll } from '../src/lib/strerr.ts';
import { errstr } from '../src/lib/errstr.ts';
import { sys } from '../src/lib/native.ts';
import { protGid, protUid } from '../src/lib/prot.ts';
import { ipsOf } from '../src/lib/ucspi/dns.ts';
import { dnsErrno, portOf, scanUlong } from '../src/lib/ucspi/hostport.ts';
import { Listener } from '../src/lib/ucspi/listener.ts';
import { TcpServer, type ServerConfig } from '../src/lib/ucspi/server.ts';

const USAGE =
  'tcpserver: usage: tcpserver [ -1UXpPhHrRoOdDqQv ] [ -c limit ] [ -x rules.cdb ] [ -B banner ] [ -g gid ] [ -u uid ] [ -b backlog ] [ -l localname ] [ -t timeout ] host port program';

export async function main(ctx: Ctx): Promise<number> {
  const p = sgetopt('tcpserver', ctx.argv.slice(1), '146dDvqQhHrRUXx:t:u:g:l:b:B:c:pPoO');
  const cfg: ServerConfig = {
    argv: [],
    limit: 40,
    allowNoRules: false,
    banner: '',
    remoteHost: true,
    paranoid: false,
    remoteInfo: true,
    identTimeout: 26,
    noDelay: false,
    verbosity: 1,
    // a plain copy: the environment is read for every connection, and process.env's
    // every key and read goes through a native interceptor (15 us a connection)
    env: { ...ctx.env },
  };
  let backlog = 20;
  let uid = 0;
  let gid = 0;
  let printPort = false;
  let v6 = false;
  const num = (s: string | undefined): number => scanUlong(s ?? '')[0];
  for (const o of p.opts) {
    switch (o.opt) {
      case 'b': backlog = num(o.arg); break;
      case 'c': cfg.limit = num(o.arg); break;
      case 'X': cfg.allowNoRules = true; break;
      case 'x': cfg.rules = o.arg; break;
      case 'B': cfg.banner = o.arg ?? ''; break;
      case 'd': cfg.noDelay = false; break;
      case 'D': cfg.noDelay = true; break;
      case 'v': cfg.verbosity = 2; break;
      case 'q': cfg.verbosity = 0; break;
      case 'Q': cfg.verbosity = 1; break;
      case 'P': cfg.paranoid = false; break;
      case 'p': cfg.paranoid = true; break;
      case 'h': cfg.remoteHost = true; break;
      case 'H': cfg.remoteHost = false; break;
      case 'r': cfg.remoteInfo = true; break;
      case 'R': cfg.remoteInfo = false; break;
      case 't': cfg.identTimeout = num(o.arg); break;
      case 'U': gid = num(ctx.env.GID); uid = num(ctx.env.UID); break;
      case 'u': uid = num(o.arg); break;
      case 'g': gid = num(o.arg); break;
      case '1': printPort = true; break;
      case 'l': cfg.localName = o.arg; break;
      case '4': v6 = false; break;
      case '6': v6 = true; break;
      case 'o': case 'O': break;
      default:
        errline(USAGE);
        throw new Exit(100);
    }
  }
  const quiet = cfg.verbosity === 0;
  const fatal = (text: string, err?: unknown): never => {
    if (!quiet) errline(`tcpserver: fatal: ${text}${err === undefined ? '' : ': ' + errstr(err)}`);
    throw new Exit(111);
  };
  const [hostArg, portArg, ...prog] = p.rest;
  if (hostArg === undefined || portArg === undefined || prog.length === 0) {
    if (!quiet) errline(USAGE);
    throw new Exit(100);
  }
  cfg.argv = prog;

  const port = portOf(portArg);
  if (port === undefined) fatal(`unable to figure out port number for ${portArg}`);
  let host = hostArg === '' || hostArg === '0' ? (v6 ? '::' : '0.0.0.0') : hostArg;
  if (isIP(host) === 0) {
    let ips: string[] = [];
    try {
      ips = await ipsOf(ctx.env, host, v6);
    } catch (e) {
      fatal(`temporarily unable to figure out IP address for ${hostArg}`, Object.assign(new Error(), { code: dnsErrno(e) }));
    }
    if (ips.length === 0) fatal(`no IP address for ${hostArg}`);
    host = ips[0];
  }

  const server = new TcpServer(cfg);
  let listener: Listener;
  try {
    listener = await Listener.open({ host, port: port!, backlog, ipv6Only: v6, onConnection: server.accept });
  } catch (e) {
    return fatal('unable to bind', e);
  }
  listener.pause();
  if (gid) {
    try {
      protGid(gid);
    } catch (e) {
      fatal('unable to set gid', e);
    }
  }
  if (uid) {
    try {
      protUid(uid);
    } catch (e) {
      fatal('unable to set uid', e);
    }
  }
  if (printPort) {
    try {
      writeAll(1, `${listener.port}\n`);
    } catch {
      /* as the original: a failed write is not fatal */
    }
  }
  // close stdin and stdout (the original's close(0); close(1)), keeping the
  // descriptor numbers taken so no later socket becomes fd 0 or 1
  const devnull = openSync('/dev/null', 'r+');
  sys.dup2(devnull, 0);
  sys.dup2(devnull, 1);
  closeSync(devnull);

  await server.serve(listener);
  return 0;
}
