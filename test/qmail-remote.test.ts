/**
 * qmail-remote, qmail-tcpto, qmail-tcpok: deliveries to scripted SMTP sinks
 * on 127.x addresses (smtproutes, MX through a DNS server on 127.53.x.y:53
 * chosen by DNSCACHEIP), every reply stage mapped to qmail-remote's reports,
 * transparency byte for byte at the sink, timeouts, tcpto records.
 */
import { describe, expect, it, afterAll } from 'vitest';
import { execa } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { ours, isRoot } from './helpers.ts';
import { loopback, makeHome, reports, smtpSink, type SinkScript } from './remote-helpers.ts';
import { dnsServer } from './dns-server.ts';
import { deliverRemote } from '../src/lib/remote/deliver.ts';
import { blast } from '../src/lib/remote/blast.ts';
import { mxOrder } from '../src/lib/remote/mx.ts';
import { Routes } from '../src/lib/remote/routes.ts';
import { addrmangle } from '../src/lib/remote/addrmangle.ts';
import { spawnDelivery, tcptoClean } from '../src/lib/remote/spawn.ts';
import { closeSync, openSync } from 'node:fs';

const closers: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of closers.splice(0)) await c();
});

async function sink(script: SinkScript = {}, ip?: string, port?: number) {
  const s = await smtpSink(script, ip, port);
  closers.push(() => s.close());
  return s;
}

/** Run our qmail-remote program; its stdout and exit code. */
async function remote(home: string, args: string[], input: string | Buffer = 'Subject: x\n\nhello\n', env: Record<string, string> = {}) {
  const r = await execa(ours('qmail-remote'), args, { input, env: { QMAILHOME: home, ...env }, encoding: 'buffer', reject: false });
  return { code: r.exitCode, out: Buffer.from(r.stdout as Uint8Array).toString('latin1'), err: Buffer.from(r.stderr as Uint8Array).toString('latin1') };
}

/** A home routing `dest.example` (and everything) to the sink. */
function routed(s: { ip: string; port: number }, extra: Record<string, string> = {}): string {
  return makeHome({ smtproutes: `:[${s.ip}]:${s.port}\n`, ...extra });
}

describe('library pieces', () => {
  it('blast: CRLF, dot-stuffing, bare CR, partial lines, byte for byte', () => {
    const b = (s: string) => blast(Buffer.from(s, 'latin1'));
    expect(b('').data.toString('latin1')).toBe('.\r\n');
    expect(b('a\n.b\n..\n.\n').data.toString('latin1')).toBe('a\r\n..b\r\n...\r\n..\r\n.\r\n');
    expect(b('a\r\nb\n').data.toString('latin1')).toBe('a\r\nb\r\n.\r\n');
    expect(b('a\rb\n').data.toString('latin1')).toBe('a\r\nb\r\n.\r\n');
    expect(b('a\r\rb\n').data.toString('latin1')).toBe('a\r\n\rb\r\n.\r\n');
    expect(b('a\r').data.toString('latin1')).toBe('a\r\n.\r\n');
    expect(b('a\r.\n').data.toString('latin1')).toBe('a\r\n..\r\n.\r\n');
    expect(b('\n\n').data.toString('latin1')).toBe('\r\n\r\n.\r\n');
    expect(b('8bit \xe9\x00\n').data.toString('latin1')).toBe('8bit \xe9\x00\r\n.\r\n');
    expect(b('a\nno newline')).toEqual({ data: Buffer.from('a\r\nno newline'), partial: true });
    expect(b('a\rb').partial).toBe(true);
  });

  it('smtproutes: exact, .domain wildcard, default, empty relay, port, last line wins', () => {
    const r = new Routes(['inside.af.mil:firewall.af.mil:26', '.af.mil:', ':heaven.af.mil', 'x.example:[1.2.3.4]', 'X.example:second', 'nocolon']);
    expect(r.lookup('inside.af.mil')).toEqual({ relay: 'firewall.af.mil', port: 26 });
    expect(r.lookup('a.af.mil')).toBeUndefined();
    expect(r.lookup('af.mil')).toEqual({ relay: 'heaven.af.mil' });
    expect(r.lookup('x.EXAMPLE')).toEqual({ relay: 'second' });
    expect(new Routes([]).lookup('any')).toBeUndefined();
  });

  it('addrmangle quotes the box as qmail does', () => {
    expect(addrmangle('a.b@x')).toBe('a.b@x');
    expect(addrmangle('a b@x')).toBe('"a b"@x');
    expect(addrmangle('.a@x')).toBe('".a"@x');
    expect(addrmangle('')).toBe('');
    expect(addrmangle('@x')).toBe('""@x');
  });

  it('mxOrder: lower preference first, equal preferences shuffled by the seed', () => {
    const orders = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      const o = mxOrder([20, 10, 10, 10, 5], seed * 7919 + 12345);
      expect(o[0]).toBe(4);
      expect(o[4]).toBe(0);
      orders.add(o.slice(1, 4).join(','));
      expect(mxOrder([20, 10, 10, 10, 5], seed * 7919 + 12345)).toEqual(o);
    }
    expect(orders.size).toBeGreaterThan(3);
  });
});

describe('qmail-remote through smtproutes', () => {
  it('delivers: reports, dialogue, message bytes at the sink', async () => {
    const s = await sink();
    const home = routed(s, { helohost: 'helo.example\n' });
    const msg = 'Subject: t\n\n.dot\n..two\nbare\rcr\nwin\r\nend\n';
    const r = await remote(home, ['dest.example', 'a b@src.example', 'u@dest.example', 'v@dest.example'], msg);
    expect(r.code).toBe(0);
    expect(reports(r.out)).toEqual(['r', 'r', `K${s.ip} accepted message.\nRemote host said: 250 ok queued\n`]);
    expect(s.commands).toEqual(['HELO helo.example', 'MAIL FROM:<"a b"@src.example>', 'RCPT TO:<u@dest.example>', 'RCPT TO:<v@dest.example>', 'DATA', 'QUIT']);
    expect(s.messages[0].toString('latin1')).toBe('Subject: t\r\n\r\n..dot\r\n...two\r\nbare\r\ncr\r\nwin\r\nend\r\n.\r\n');
  });

  it('empty sender, helohost defaults to me, 8-bit bytes kept', async () => {
    const s = await sink();
    const home = routed(s);
    const r = await remote(home, ['dest.example', '', 'u@dest.example'], Buffer.from('x: \xe9\n\n\xff\n', 'latin1'));
    expect(reports(r.out)[1]).toMatch(/^K/);
    expect(s.commands.slice(0, 2)).toEqual(['HELO here.example', 'MAIL FROM:<>']);
    expect(s.messages[0]).toEqual(Buffer.from('x: \xe9\r\n\r\n\xff\r\n.\r\n', 'latin1'));
  });

  const stages: Array<[string, SinkScript, string[]]> = [
    ['greeting 4xx', { greeting: '421 busy' }, ['ZConnected to IP but greeting failed.\nRemote host said: 421 busy\n']],
    ['greeting 5xx', { greeting: '554 go away' }, ['ZConnected to IP but greeting failed.\nRemote host said: 554 go away\n']],
    ['HELO refused', { helo: '501 who' }, ['ZConnected to IP but my name was rejected.\nRemote host said: 501 who\n']],
    ['MAIL 5xx', { mail: '553 no' }, ['DConnected to IP but sender was rejected.\nRemote host said: 553 no\n']],
    ['MAIL 4xx', { mail: '451 later' }, ['ZConnected to IP but sender was rejected.\nRemote host said: 451 later\n']],
    ['every RCPT refused', { rcpt: (a) => (a.startsWith('<u') ? '550 no such user' : '450 try later') }, ['hIP does not like recipient.\nRemote host said: 550 no such user\n', 'sIP does not like recipient.\nRemote host said: 450 try later\n', 'DGiving up on IP.\n']],
    ['DATA 5xx', { data: '554 no data' }, ['r', 'r', 'DIP failed on DATA command.\nRemote host said: 554 no data\n']],
    ['DATA 4xx', { data: '451 no data' }, ['r', 'r', 'ZIP failed on DATA command.\nRemote host said: 451 no data\n']],
    ['after the message 5xx', { end: '552 too big' }, ['r', 'r', 'DIP failed after I sent the message.\nRemote host said: 552 too big\n']],
    ['after the message 4xx', { end: '452 full' }, ['r', 'r', 'ZIP failed after I sent the message.\nRemote host said: 452 full\n']],
    ['multi-line reply', { end: '250-first\r\n250-second\r\n250 third' }, ['r', 'r', 'KIP accepted message.\nRemote host said: 250-first\n250-second\n250 third\n']],
  ];
  for (const [name, script, want] of stages) {
    it(`maps ${name}`, async () => {
      const s = await sink(script);
      const r = await remote(routed(s), ['dest.example', 's@src.example', 'u@dest.example', 'v@dest.example']);
      expect(reports(r.out)).toEqual(want.map((w) => w.replaceAll('IP', s.ip)));
      expect(s.commands[s.commands.length - 1]).toBe('QUIT');
    });
  }

  it('one refused recipient among accepted ones: h then r, message delivered', async () => {
    const s = await sink({ rcpt: (a) => (a.startsWith('<bad') ? '550 5.1.1 unknown' : '250 ok') });
    const r = await remote(routed(s), ['dest.example', 's@src.example', 'bad@dest.example', 'good@dest.example']);
    expect(reports(r.out)).toEqual([`h${s.ip} does not like recipient.\nRemote host said: 550 5.1.1 unknown\n`, 'r', `K${s.ip} accepted message.\nRemote host said: 250 ok queued\n`]);
    expect(s.messages.length).toBe(1);
  });

  it('a sink that disconnects mid-DATA is a deferral, never a success', async () => {
    const s = await sink({ dropInData: 1000 });
    const big = 'Subject: big\n\n' + 'x'.repeat(100).concat('\n').repeat(20000);
    const r = await remote(routed(s), ['dest.example', 's@src.example', 'u@dest.example'], big);
    const rep = reports(r.out);
    expect(rep[0]).toBe('r');
    // whether the kernel had taken every byte before the reset decides "Possible duplicate!"
    expect(rep[1]).toMatch(new RegExp(`^ZConnected to ${s.ip.replaceAll('.', '\\.')} but connection died. (Possible duplicate! )?\\(#4\\.4\\.2\\)\\n$`));
    expect(rep.length).toBe(2);
  });

  it('no complete reply after the final dot, or a hang-up there: possible duplicate', async () => {
    // an empty reply line: no code follows, the reply never completes
    for (const end of ['', 'CLOSE']) {
      const s = await sink({ end });
      const home = routed(s, { timeoutremote: '1\n' });
      const r = await remote(home, ['dest.example', 's@src.example', 'u@dest.example']);
      expect(reports(r.out)).toEqual(['r', `ZConnected to ${s.ip} but connection died. Possible duplicate! (#4.4.2)\n`]);
      expect(s.messages.length).toBe(1);
    }
  });

  it('timeoutremote: a silent server', async () => {
    const s = await sink({ silent: true });
    const r = await remote(routed(s, { timeoutremote: '1\n' }), ['dest.example', 's@src.example', 'u@dest.example']);
    expect(reports(r.out)).toEqual([`ZConnected to ${s.ip} but connection died. (#4.4.2)\n`]);
  });

  it('partial final line: permanent failure, nothing delivered', async () => {
    const s = await sink();
    const r = await remote(routed(s), ['dest.example', 's@src.example', 'u@dest.example'], 'Subject: x\n\nno newline');
    expect(reports(r.out)).toEqual(['r', 'DSMTP cannot transfer messages with partial final lines. (#5.6.2)\n']);
    expect(s.messages.length).toBe(0);
  });

  it('usage, missing helohost and me, bad home', async () => {
    const home = makeHome();
    expect(reports((await remote(home, ['dest.example', 's@x'])).out)).toEqual(['DI (qmail-remote) was invoked improperly. (#5.3.5)\n']);
    rmSync(`${home}/control/me`);
    expect(reports((await remote(home, ['dest.example', 's@x', 'u@dest.example'])).out)).toEqual(['ZUnable to read control files. (#4.3.0)\n']);
    expect(reports((await remote(`${home}/nonexistent`, ['dest.example', 's@x', 'u@dest.example'])).out)).toEqual(['ZUnable to switch to home directory. (#4.3.0)\n']);
  });

  it('no server at the routed address', async () => {
    const s = await sink();
    await s.close();
    const r = await remote(routed(s), ['dest.example', 's@x', 'u@dest.example']);
    expect(reports(r.out)).toEqual(["ZSorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n"]);
  });
});

/** A listener whose accept queue is full: further SYNs are dropped, so connects time out. */
async function blackhole(): Promise<{ ip: string; port: number }> {
  const ip = loopback();
  const py = `import socket,sys,time
s=socket.socket(); s.bind(('${ip}',0)); s.listen(0)
cs=[]
for i in range(4):
    c=socket.socket(); c.setblocking(False)
    try: c.connect(s.getsockname())
    except BlockingIOError: pass
    cs.append(c)
time.sleep(0.3)
print(s.getsockname()[1], flush=True)
time.sleep(120)
`;
  const p: ChildProcess = spawn('python3', ['-c', py], { stdio: ['ignore', 'pipe', 'inherit'] });
  closers.push(() => {
    p.kill();
  });
  const port = await new Promise<number>((res) => p.stdout!.once('data', (d: Buffer) => res(Number(d.toString().trim()))));
  return { ip, port };
}

describe('in-process delivery for qmail-rspawn', () => {
  it('spawnDelivery reads the queue file descriptor and gives the spawn report', async () => {
    const s = await sink({ rcpt: (a) => (a.startsWith('<no@') ? '553 sorry' : '250 ok') });
    const home = routed(s);
    writeFileSync(`${home}/m`, 'Subject: fd\n\nfrom a descriptor\n');
    const fd = openSync(`${home}/m`, 'r');
    try {
      expect(await spawnDelivery({ recipient: 'u@dest.example', sender: 's@x', fd, env: {}, home })).toEqual({ status: 'K', text: `${s.ip} accepted message.\nRemote host said: 250 ok queued\n` });
      expect(await spawnDelivery({ recipient: 'no@dest.example', sender: 's@x', fd, env: {}, home })).toEqual({ status: 'D', text: `${s.ip} does not like recipient.\nRemote host said: 553 sorry\nGiving up on ${s.ip}.\n` });
    } finally {
      closeSync(fd);
    }
    expect(s.messages.map(String)).toEqual(['Subject: fd\r\n\r\nfrom a descriptor\r\n.\r\n']);
    writeFileSync(`${home}/queue/lock/tcpto`, Buffer.alloc(1024, 7));
    tcptoClean(home);
    expect(readFileSync(`${home}/queue/lock/tcpto`)).toEqual(Buffer.alloc(1024));
    tcptoClean(`${home}/nonexistent`);
  });
});

describe('timeouts and qmail-tcpto / qmail-tcpok', () => {
  it('timeoutconnect: a connection timeout is recorded; qmail-tcpto shows it; qmail-tcpok clears it', async () => {
    const b = await blackhole();
    const home = makeHome({ smtproutes: `:[${b.ip}]:${b.port}\n`, timeoutconnect: '1\n' });
    const t0 = Date.now();
    const r = await remote(home, ['dest.example', 's@x', 'u@dest.example']);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(reports(r.out)).toEqual(["ZSorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n"]);
    const f = readFileSync(`${home}/queue/lock/tcpto`);
    expect(f.length).toBe(1024);
    expect([...f.subarray(0, 5)]).toEqual([...b.ip.split('.').map(Number), 1]);
    const shown = await execa(ours('qmail-tcpto'), [], { env: { QMAILHOME: home } });
    expect(shown.stdout).toMatch(new RegExp(`^${b.ip.replaceAll('.', '\\.')} timed out [01] seconds ago; # recent timeouts: 1$`));
    const ok = await execa(ours('qmail-tcpok'), [], { env: { QMAILHOME: home } });
    expect(ok.exitCode).toBe(0);
    expect(readFileSync(`${home}/queue/lock/tcpto`)).toEqual(Buffer.alloc(1024));
    expect((await execa(ours('qmail-tcpto'), [], { env: { QMAILHOME: home } })).stdout).toBe('');
  });

  it('a host with two recent timeouts is skipped; a later good connection clears its count', async () => {
    const s = await sink();
    const home = routed(s);
    const rec = Buffer.alloc(1024);
    const ipb = s.ip.split('.').map(Number);
    ipb.forEach((x, i) => (rec[16 + i] = x));
    rec[20] = 2;
    rec.writeUInt32LE(Math.floor(Date.now() / 1000) - 10, 24);
    writeFileSync(`${home}/queue/lock/tcpto`, rec);
    let r = await remote(home, ['dest.example', 's@x', 'u@dest.example']);
    expect(reports(r.out)).toEqual(["ZSorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n"]);
    expect(s.connections).toBe(0);
    const shown = await execa(ours('qmail-tcpto'), [], { env: { QMAILHOME: home } });
    expect(shown.stdout).toMatch(new RegExp(`^${s.ip.replaceAll(".", "\\.")} timed out 1[0-3] seconds ago; # recent timeouts: 2$`));
    // old enough (over 96 minutes): tried again, and success clears the count
    rec.writeUInt32LE(Math.floor(Date.now() / 1000) - 6000, 24);
    writeFileSync(`${home}/queue/lock/tcpto`, rec);
    r = await remote(home, ['dest.example', 's@x', 'u@dest.example']);
    expect(reports(r.out)[1]).toMatch(/^K/);
    expect(readFileSync(`${home}/queue/lock/tcpto`)[20]).toBe(0);
  });

  it('qmail-tcpto and qmail-tcpok errors', async () => {
    const home = makeHome();
    rmSync(`${home}/queue/lock/tcpto`);
    const t = await execa(ours('qmail-tcpto'), [], { env: { QMAILHOME: home }, reject: false });
    expect([t.exitCode, t.stdout]).toEqual([111, 'fatal: unable to open tcpto: file does not exist']);
    const k = await execa(ours('qmail-tcpok'), [], { env: { QMAILHOME: home }, reject: false });
    expect([k.exitCode, k.stderr]).toEqual([111, `qmail-tcpok: fatal: unable to write ${home}/queue/lock/tcpto: file does not exist`]);
    const k2 = await execa(ours('qmail-tcpok'), [], { env: { QMAILHOME: `${home}/none` }, reject: false });
    expect([k2.exitCode, k2.stderr]).toEqual([111, `qmail-tcpok: fatal: unable to chdir to ${home}/none: file does not exist`]);
  });
});

describe('MX lookups through DNSCACHEIP', () => {
  it('preference order, fallback to the next MX when one refuses connections, implicit MX, literals, DNS failures', async () => {
    const s1 = await sink();
    const s2 = await sink({}, loopback(), s1.port);
    const down = loopback();
    const dns = await dnsServer({
      mx: {
        'dest.example': [
          [20, 'mx2.dest.example'],
          [10, 'mx1.dest.example'],
        ],
        'fall.example': [
          [5, 'down.fall.example'],
          [10, 'mx1.dest.example'],
        ],
        'me.example': [[10, 'self.example']],
        'nomx.example': [[10, 'missing.example']],
      },
      a: {
        'mx1.dest.example': [s1.ip],
        'mx2.dest.example': [s2.ip],
        'down.fall.example': [down],
        'plain.example': [s2.ip],
        'self.example': ['127.0.0.1'],
      },
      fail: ['broken.example'],
    });
    closers.push(() => dns.close());
    const home = makeHome();
    const env = { DNSCACHEIP: dns.ip };
    const run = async (host: string) =>
      reports(await deliverRemote({ host, sender: 's@src.example', recipients: [`u@${host}`], message: Buffer.from('a\n'), env, home, port: s1.port }));
    expect(await run('dest.example')).toEqual(['r', `K${s1.ip} accepted message.\nRemote host said: 250 ok queued\n`]);
    expect(s2.connections).toBe(0);
    expect(await run('fall.example')).toEqual(['r', `K${s1.ip} accepted message.\nRemote host said: 250 ok queued\n`]);
    expect(await run('plain.example')).toEqual(['r', `K${s2.ip} accepted message.\nRemote host said: 250 ok queued\n`]);
    expect(await run(`[${s2.ip}]`)).toEqual(['r', `K${s2.ip} accepted message.\nRemote host said: 250 ok queued\n`]);
    expect(await run('nx.example')).toEqual(["DSorry, I couldn't find any host named nx.example. (#5.1.2)\n"]);
    expect(await run('broken.example')).toEqual(["ZSorry, I couldn't find any host by that name. (#4.1.2)\n"]);
    expect(await run('nomx.example')).toEqual(["DSorry, I couldn't find a mail exchanger or IP address. (#5.4.4)\n"]);
    expect(await run('me.example')).toEqual([
      "DSorry. Although I'm listed as a best-preference MX or A for that host,\nit isn't in my control/locals file, so I don't treat it as local. (#5.4.6)\n",
    ]);
    expect(dns.queries).toContain('MX dest.example');
  });

  it.skipIf(!isRoot)('the program itself on port 25 (root)', async () => {
    let s;
    try {
      s = await sink({}, loopback(), 25);
    } catch (e) {
      console.log(`skipped: cannot listen on port 25: ${String(e)}`);
      return;
    }
    const dns = await dnsServer({ mx: { 'dest.example': [[10, 'mx.dest.example']] }, a: { 'mx.dest.example': [s.ip] } });
    closers.push(() => dns.close());
    const r = await remote(makeHome(), ['dest.example', 's@x', 'u@dest.example'], 'a\n', { DNSCACHEIP: dns.ip });
    expect(reports(r.out)).toEqual(['r', `K${s.ip} accepted message.\nRemote host said: 250 ok queued\n`]);
  });
});

describe('opportunistic STARTTLS (control/tlsremote)', () => {
  const pki = async () => {
    const d = makeHome();
    await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=sink.test', '-keyout', `${d}/k.pem`, '-out', `${d}/c.pem`, '-days', '2'], { reject: false });
    return { key: readFileSync(`${d}/k.pem`, 'latin1'), cert: readFileSync(`${d}/c.pem`, 'latin1') };
  };

  it('EHLO, STARTTLS, EHLO again inside TLS, BODY=8BITMIME for 8-bit mail', async () => {
    const s = await sink({ tls: await pki() });
    const r = await remote(routed(s, { tlsremote: '1\n' }), ['dest.example', 's@x', 'u@dest.example'], Buffer.from('a: \xe9\n', 'latin1'));
    expect(reports(r.out)).toEqual(['r', `K${s.ip} accepted message.\nRemote host said: 250 ok queued\n`]);
    expect(s.tlsSessions).toBe(1);
    expect(s.commands).toEqual(['EHLO here.example', 'STARTTLS', 'EHLO here.example', 'MAIL FROM:<s@x> BODY=8BITMIME', 'RCPT TO:<u@dest.example>', 'DATA', 'QUIT']);
    expect(s.messages[0]).toEqual(Buffer.from('a: \xe9\r\n.\r\n', 'latin1'));
  });

  it('a failed handshake is retried in the clear; no STARTTLS offered: plain EHLO session; EHLO refused: HELO', async () => {
    const broken = await sink({ brokenTls: true });
    let r = await remote(routed(broken, { tlsremote: '1\n' }), ['dest.example', 's@x', 'u@dest.example']);
    expect(reports(r.out)[1]).toMatch(/^K/);
    expect(broken.connections).toBe(2);
    expect(broken.commands).toEqual(['EHLO here.example', 'STARTTLS', 'HELO here.example', 'MAIL FROM:<s@x>', 'RCPT TO:<u@dest.example>', 'DATA', 'QUIT']);
    const plain = await sink();
    r = await remote(routed(plain, { tlsremote: '1\n' }), ['dest.example', 's@x', 'u@dest.example']);
    expect(plain.commands.slice(0, 2)).toEqual(['EHLO here.example', 'MAIL FROM:<s@x>']);
    const old = await sink({ ehlo: '500 what' });
    r = await remote(routed(old, { tlsremote: '1\n' }), ['dest.example', 's@x', 'u@dest.example']);
    expect(reports(r.out)[1]).toMatch(/^K/);
    expect(old.commands.slice(0, 3)).toEqual(['EHLO here.example', 'HELO here.example', 'MAIL FROM:<s@x>']);
  });
});
