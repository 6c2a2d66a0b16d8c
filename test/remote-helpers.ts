/**
 * Helpers for the qmail-remote and QMTP tests: a scripted SMTP sink on a
 * 127.x address (records commands and the raw DATA bytes as they arrived,
 * dot-stuffing included), qmail homes, report splitting. (The DNS server
 * for DNSCACHEIP, MX records included, is in dns-server.ts.)
 */
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { mkdirSync, writeFileSync } from 'node:fs';
import { queueCreate } from '../src/lib/queue/create.ts';
import { tmpdir } from './helpers.ts';

/** Replies of a sink; a function gets the command's argument. */
export interface SinkScript {
  greeting?: string;
  helo?: string;
  ehlo?: string;
  mail?: string;
  rcpt?: string | ((arg: string) => string);
  data?: string;
  /** reply after the final dot ('CLOSE': hang up instead) */
  end?: string;
  /** close the connection after this many bytes of DATA */
  dropInData?: number;
  /** accept but never answer (greeting) */
  silent?: boolean;
  /** offer STARTTLS with this key and certificate (PEM) */
  tls?: { key: string; cert: string };
  /** answer STARTTLS with 220 and then garbage instead of a handshake */
  brokenTls?: boolean;
}

export interface Sink {
  ip: string;
  port: number;
  /** every command line received (CRLF stripped), all connections */
  commands: string[];
  /** raw DATA bytes of each message, up to and including the final `.\r\n` */
  messages: Buffer[];
  connections: number;
  /** sessions that completed a TLS handshake */
  tlsSessions: number;
  close(): Promise<void>;
}

/** A random 127.x address (not 127.0.0.1, which ipme counts as this host's). */
export function loopback(): string {
  return `127.${10 + Math.floor(Math.random() * 200)}.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
}

/** Start a scripted SMTP sink on ip:port (port 0 = any). */
export function smtpSink(script: SinkScript = {}, ip = loopback(), port = 0): Promise<Sink> {
  const commands: string[] = [];
  const messages: Buffer[] = [];
  const socks = new Set<Socket>();
  const sink: Sink = { ip, port, commands, messages, connections: 0, tlsSessions: 0, close: async () => undefined };
  const offerTls = script.tls !== undefined || script.brokenTls === true;
  const serve = (s: Socket, greet: boolean): void => {
    if (greet) s.write(`${script.greeting ?? '220 sink ESMTP'}\r\n`);
    let buf = Buffer.alloc(0);
    let inData = false;
    let dataBytes = 0;
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (inData) {
          if (script.dropInData !== undefined && dataBytes + buf.length >= script.dropInData) {
            s.destroy();
            return;
          }
          const end = buf.indexOf('\r\n.\r\n');
          const atStart = dataBytes === 0 && buf.subarray(0, 3).toString() === '.\r\n';
          if (!atStart && end < 0) return;
          const n = atStart ? 3 : end + 5;
          messages.push(Buffer.from(buf.subarray(0, n)));
          buf = buf.subarray(n);
          inData = false;
          dataBytes = 0;
          if (script.end === 'CLOSE') {
            s.destroy();
            return;
          }
          s.write(`${script.end ?? '250 ok queued'}\r\n`);
          continue;
        }
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        const line = buf.subarray(0, nl).toString('latin1').replace(/\r$/, '');
        buf = buf.subarray(nl + 1);
        commands.push(line);
        const verb = line.split(' ')[0].toUpperCase();
        const arg = line.slice(line.indexOf(':') + 1);
        let reply: string;
        switch (verb) {
          case 'HELO':
            reply = script.helo ?? '250 sink';
            break;
          case 'EHLO':
            reply = script.ehlo ?? (offerTls && !(s instanceof TLSSocket) ? '250-sink\r\n250-STARTTLS\r\n250 8BITMIME' : '250-sink\r\n250 8BITMIME');
            break;
          case 'STARTTLS':
            if (script.brokenTls) {
              s.removeAllListeners('data');
              s.end('220 go\r\nthis is not TLS\r\n');
              return;
            }
            if (script.tls) {
              s.write('220 ready\r\n');
              s.removeAllListeners('data');
              const t = new TLSSocket(s, { isServer: true, key: script.tls.key, cert: script.tls.cert });
              t.on('error', () => undefined);
              t.on('secure', () => {
                sink.tlsSessions++;
                serve(t, false);
              });
              return;
            }
            reply = '502 no';
            break;
          case 'MAIL':
            reply = script.mail ?? '250 ok';
            break;
          case 'RCPT':
            reply = typeof script.rcpt === 'function' ? script.rcpt(arg) : (script.rcpt ?? '250 ok');
            break;
          case 'DATA':
            reply = script.data ?? '354 go ahead';
            if (reply.startsWith('354')) inData = true;
            break;
          case 'QUIT':
            s.end('221 bye\r\n');
            return;
          default:
            reply = '502 unimplemented';
        }
        s.write(`${reply}\r\n`);
      }
    });
  };
  const srv: Server = createServer((s) => {
    sink.connections++;
    socks.add(s);
    s.on('close', () => socks.delete(s));
    s.on('error', () => undefined);
    if (script.silent) return;
    serve(s, true);
  });
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, ip, () => {
      sink.port = (srv.address() as { port: number }).port;
      sink.close = () =>
        new Promise<void>((r) => {
          for (const s of socks) s.destroy();
          srv.close(() => r());
        });
      resolve(sink);
    });
  });
}

/** A qmail home in a tmpdir with a queue (lock/tcpto zeroed) and control files. */
export function makeHome(control: Record<string, string> = {}): string {
  const home = tmpdir('qmr-');
  queueCreate(home);
  mkdirSync(`${home}/control`, { recursive: true });
  for (const [k, v] of Object.entries({ me: 'here.example', ...control })) writeFileSync(`${home}/control/${k}`, v);
  return home;
}

/** Split qmail-remote's output into its NUL-terminated reports. */
export function reports(out: Buffer | string): string[] {
  const s = typeof out === 'string' ? out : out.toString('latin1');
  const parts = s.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}
