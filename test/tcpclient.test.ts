/**
 * tcpclient and the small clients against Debian's: environment, fds 6/7,
 * -v and error lines; who@/date@/finger@/http@/tcpcat/mconnect output for
 * the same server answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { createServer, type Server } from 'node:net';
import { ours, theirs } from './helpers.ts';
import { dnsServer, type DnsServer } from './dns-server.ts';

const debian = theirs('tcpclient');

/** A TCP server on host:port that records what it got and answers with reply(got). */
function fixedServer(host: string, port: number, reply: (got: string) => string, waitFor = ''): Promise<Server & { got: string[] }> {
  const got: string[] = [];
  return new Promise((resolve) => {
    const srv = createServer((s) => {
      let buf = '';
      const answer = (): void => {
        got.push(buf);
        s.end(Buffer.from(reply(buf), 'latin1'));
      };
      if (!waitFor) answer();
      else
        s.on('data', (b) => {
          buf += b.toString('latin1');
          if (buf.includes(waitFor)) answer();
        });
      s.on('error', () => {});
    });
    srv.listen(port, host, () => resolve(Object.assign(srv, { got })));
  });
}

const ANSWER = 'line one\r\nctl \x01\x7f\xe9 \r\r\n\r\nbody\r\n\r\nmore\r\nlast no newline\r';

async function both(name: string, args: string[], input?: string): Promise<[unknown[], unknown[]]> {
  const run = async (bin: string): Promise<unknown[]> => {
    const r = await execa(bin, args, { reject: false, encoding: 'latin1', stripFinalNewline: false, input: input ?? '', env: { PATH: '/usr/bin:/bin' }, extendEnv: false });
    return [r.exitCode, r.stdout, r.stderr];
  };
  return [await run(ours(name)), await run(theirs(name)!)];
}

describe.skipIf(!debian)('tcpclient, differential', () => {
  let dns: DnsServer;
  let srv: Server;
  let port: number;
  beforeAll(async () => {
    dns = await dnsServer({ ptr: { '1.0.0.127.in-addr.arpa': 'LocalHost.Test.' }, a: { 'server.test': ['127.0.0.1'] } });
    srv = await fixedServer('127.0.0.1', 0, () => 'hello\n');
    port = (srv.address() as { port: number }).port;
  });
  afterAll(async () => {
    await dns?.close();
    srv?.close();
  });

  /** Debian's tcpclient runs through dash as our launcher does, so both start from the same environment. */
  async function cmp(args: string[], env: Record<string, string>): Promise<void> {
    const o = await execa(ours('tcpclient'), args, { reject: false, env, extendEnv: false });
    const t = await execa('/bin/sh', ['-c', 'exec "$0" "$@"', debian!, ...args], { reject: false, env, extendEnv: false });
    const n = (s: string): string => s.replace(/TCPLOCALPORT=\d+/, 'TCPLOCALPORT=P');
    expect([o.exitCode, n(o.stdout), o.stderr]).toEqual([t.exitCode, n(t.stdout), t.stderr]);
  }

  it('sets the same environment, socket on fds 6 and 7, -v line', async () => {
    const env = { PATH: '/usr/bin:/bin', DNSCACHEIP: dns.ip, TCPREMOTEINFO: 'stale' };
    await cmp(['-v', '-R', '-l0', '-H', '127.0.0.1', String(port), 'sh', '-c', 'env; cat <&6'], env);
    await cmp(['-R', 'server.test', String(port), 'sh', '-c', 'env; cat <&6; echo bye >&7'], env);
    const o = await execa(ours('tcpclient'), ['-RHl0', '0', String(port), 'sh', '-c', 'cat <&6; ls /proc/$$/fd'], { env });
    expect(o.stdout.split('\n')).toEqual(expect.arrayContaining(['hello', '6', '7']));
  });

  it('fails like Debian', async () => {
    const env = { PATH: '/usr/bin:/bin', DNSCACHEIP: dns.ip };
    for (const args of [
      ['-RHl0', '127.0.0.1', '1', 'true'],
      ['-q', '-RHl0', '127.0.0.1', '1', 'true'],
      ['-RHl0', '127.0.0.1', '1'],
      ['-RHl0', '0', 'nosuchport', 'true'],
      ['-RHl0', 'nosuch.test', '1', 'true'],
      ['-RHl0', '127.000.000.001', String(port), 'no-such-program'],
      ['-z'],
    ])
      await cmp(args, env);
  });
});

describe.skipIf(!debian || !theirs('who@'))('small clients, differential', () => {
  const host = `127.0.${11 + Math.floor(Math.random() * 200)}.${1 + Math.floor(Math.random() * 250)}`;
  const servers: Server[] = [];
  afterAll(() => {
    for (const s of servers) s.close();
  });

  it('who@, date@, finger@ print the same', async () => {
    servers.push(await fixedServer(host, 11, () => ANSWER));
    servers.push(await fixedServer(host, 13, () => ANSWER));
    const finger = await fixedServer(host, 79, (got) => `you asked for ${got}` + ANSWER, '\n');
    servers.push(finger);
    for (const [name, args] of [
      ['who@', [host]],
      ['date@', [host]],
      ['finger@', [host, 'joe']],
      ['finger@', [host]],
    ] as Array<[string, string[]]>) {
      const [o, t] = await both(name, args);
      expect(o).toEqual(t);
    }
    expect(finger.got).toEqual(['joe\r\n', 'joe\r\n', '\r\n', '\r\n']);
  });

  it('http@ and tcpcat print the same', async () => {
    const web = await fixedServer(host, 0, () => 'HTTP/1.0 200 OK\r\nX: y\r\n\r\n' + ANSWER, '\r\n\r\n');
    servers.push(web);
    const wport = String((web.address() as { port: number }).port);
    const [o, t] = await both('http@', [host, 'some/page', wport]);
    expect(o).toEqual(t);
    expect(web.got[0]).toBe(`GET /some/page HTTP/1.0\r\nHost: ${host}:${wport}\r\n\r\n`);
    const cat = await fixedServer(host, 0, () => ANSWER);
    servers.push(cat);
    const cport = String((cat.address() as { port: number }).port);
    const [oc, tc] = await both('tcpcat', [host, cport]);
    expect(oc).toEqual(tc);
    expect(oc[1]).toBe(ANSWER);
  });

  it('fail like the scripts when nothing listens', async () => {
    for (const [name, args] of [
      ['tcpcat', [host, '1']],
      ['who@', ['127.0.0.1']],
      ['mconnect', [host, '1']],
    ] as Array<[string, string[]]>) {
      const [o, t] = await both(name, args);
      expect(o).toEqual(t);
    }
  });
});
