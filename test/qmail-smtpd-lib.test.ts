/**
 * qmail-smtpd's library modules, byte by byte: addrparse as qmail's, the
 * DATA state machine (dot-unstuffing, CRLF.CRLF, bare LF, hops, databytes),
 * rcpthosts/morercpthosts with wildcards, badmailfrom, the Received field,
 * and whole sessions on in-memory streams, including a seeded fuzz test that
 * replays mutated sessions in 1-, 3- and 17-byte chunks and requires the
 * same replies and queued messages every time.
 */
import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { mkdirSync, writeFileSync } from 'node:fs';
import { addrparse, mailSize, scanBracket } from '../src/lib/smtp/addrparse.ts';
import { DataMachine } from '../src/lib/smtp/data.ts';
import { RcptHosts } from '../src/lib/smtp/rcpthosts.ts';
import { BadMailFrom } from '../src/lib/smtp/badmailfrom.ts';
import { receivedField } from '../src/lib/smtp/received.ts';
import { ehlo250 } from '../src/lib/smtp/replies.ts';
import { decodePlain, saslExchange, unbase64 } from '../src/lib/smtp/auth.ts';
import { SmtpSession, type SmtpConfig } from '../src/lib/smtp/session.ts';
import { Control } from '../src/lib/control.ts';
import { cdbBuild } from '../src/lib/cdb.ts';
import { tmpdir, prng } from './helpers.ts';

describe('addrparse', () => {
  const cases: Array<[string, string | undefined]> = [
    ['FROM:<a@b.c>', 'a@b.c'],
    ['from: <a@b.c> SIZE=10', 'a@b.c'],
    ['FROM:<>', ''],
    ['FROM:a@b.c', 'a@b.c'],
    ['FROM:   a@b.c junk', 'a@b.c'],
    ['FROM', ''],
    ['', ''],
    ['TO:<@r1,@r2:u@h>', 'u@h'],
    ['TO:<@r1,@r2>', ''],
    ['TO:<"a b>c"@d>', 'a b>c@d'],
    ['TO:<a\\>b@c>', 'a>b@c'],
    ['TO:<a@b', 'a@b'],
    ['TO:x<y@z>', 'y@z'],
    ['TO:"q u"@h', 'q u@h'],
    ['TO:<\xe9t\xe9@h\xf4te>', '\xe9t\xe9@h\xf4te'],
    [`TO:<${'x'.repeat(899)}>`, 'x'.repeat(899)],
    [`TO:<${'x'.repeat(900)}>`, undefined],
  ];
  for (const [arg, want] of cases) it(JSON.stringify(arg).slice(0, 60), () => expect(addrparse(arg)).toBe(want));

  it('rewrites box@[local ip] to localiphost, not other IPs', () => {
    const lip = { host: 'me.example', isMe: (ip: string) => ip === '127.0.0.1' || ip === '0.0.0.0' };
    expect(addrparse('TO:<u@[127.0.0.1]>', lip)).toBe('u@me.example');
    expect(addrparse('TO:<u@[127.000.0.001]>', lip)).toBe('u@me.example');
    expect(addrparse('TO:<u@[0.0.0.0]>', lip)).toBe('u@me.example');
    expect(addrparse('TO:<u@[10.1.2.3]>', lip)).toBe('u@[10.1.2.3]');
    expect(addrparse('TO:<u@[127.0.0.1]x>', lip)).toBe('u@[127.0.0.1]x');
    expect(addrparse('TO:<u@[127.0.0.1>', lip)).toBe('u@[127.0.0.1');
    expect(scanBracket('[1.2.3.4]')).toEqual(['1.2.3.4', 9]);
    expect(scanBracket('[1.2.3]')).toBeUndefined();
    expect(scanBracket('[257.2.3.4]')?.[0]).toBe('1.2.3.4');
  });

  it('finds SIZE= after the address', () => {
    expect(mailSize('FROM:<a@b> SIZE=1234')).toBe(1234);
    expect(mailSize('FROM:<a@b> BODY=8BITMIME size=5')).toBe(5);
    expect(mailSize('FROM:<a@b>')).toBeUndefined();
    expect(mailSize('FROM:<SIZE=5@b>')).toBeUndefined();
  });
});

/** A plain per-byte model of blast() (the oracle for the machine's table and fast path). */
function reference(input: Buffer, databytes: number): { out: string; status: string; tooBig: boolean } {
  let state = 1;
  let over = databytes > 0 ? databytes + 1 : 0;
  let bad = false;
  const out: number[] = [];
  const put = (c: number): void => {
    if (over > 0 && --over === 0) bad = true;
    if (!bad) out.push(c);
  };
  for (const ch of input) {
    let emit = true;
    if (state === 0) {
      if (ch === 10) return { out: Buffer.from(out).toString('latin1'), status: 'stray', tooBig: bad };
      if (ch === 13) (state = 4), (emit = false);
    } else if (state === 1) {
      if (ch === 10) return { out: Buffer.from(out).toString('latin1'), status: 'stray', tooBig: bad };
      if (ch === 46) (state = 2), (emit = false);
      else if (ch === 13) (state = 4), (emit = false);
      else state = 0;
    } else if (state === 2) {
      if (ch === 10) return { out: Buffer.from(out).toString('latin1'), status: 'stray', tooBig: bad };
      if (ch === 13) (state = 3), (emit = false);
      else state = 0;
    } else if (state === 3) {
      if (ch === 10) return { out: Buffer.from(out).toString('latin1'), status: 'end', tooBig: bad };
      put(46);
      put(13);
      if (ch === 13) (state = 4), (emit = false);
      else state = 0;
    } else if (ch === 10) state = 1;
    else if (ch !== 13) (put(13), (state = 0));
    if (emit) put(ch);
  }
  return { out: Buffer.from(out).toString('latin1'), status: 'more', tooBig: bad };
}

/** Run bytes through a DataMachine in chunks of n. */
function blast(input: string | Buffer, n = 1 << 20, databytes = 0): { out: string; status: string; used: number; hops: number; tooBig: boolean } {
  const m = new DataMachine(databytes);
  const b = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  let used = 0;
  let status = 'more';
  for (let i = 0; i < b.length && status === 'more'; i += n) {
    const r = m.feed(b.subarray(i, i + n));
    used = i + r.used;
    status = r.status;
  }
  return { out: m.message().toString('latin1'), status, used, hops: m.hops, tooBig: m.tooBig };
}

describe('DATA state machine', () => {
  const cases: Array<[string, string, string]> = [
    ['.\r\n', '', 'end'],
    ['a\r\n.\r\n', 'a\n', 'end'],
    ['a\r\n..b\r\n.\r\n', 'a\n.b\n', 'end'],
    ['..\r\n.\r\n', '.\n', 'end'],
    ['a\rb\r\n.\r\n', 'a\rb\n', 'end'],
    ['a\r\r\n.\r\n', 'a\r\n', 'end'],
    ['.\rx\r\n.\r\n', '.\rx\n', 'end'],
    ['.\r\r\n.\r\n', '.\r\n', 'end'],
    ['a\r\n.x\r\n.\r\n', 'a\nx\n', 'end'],
    ['a\nb', 'a', 'stray'],
    ['a\r\n\n', 'a\n', 'stray'],
    ['a\r\n.\n', 'a\n', 'stray'],
    ['\x00\xff\x80\r\n.\r\n', '\x00\xff\x80\n', 'end'],
    ['a\r\n.\r', 'a\n', 'more'],
    ['a\r\n.\r\nQUIT\r\n', 'a\n', 'end'],
  ];
  for (const [input, want, status] of cases) {
    for (const n of [1, 3, 17, 1 << 20]) {
      it(`${JSON.stringify(input)} in ${n}-byte chunks`, () => {
        const r = blast(input, n);
        expect(r.status).toBe(status);
        expect(r.out).toBe(want);
        if (status === 'end') expect(input.slice(r.used)).toBe(input.endsWith('QUIT\r\n') ? 'QUIT\r\n' : '');
      });
    }
  }

  it('counts Received and Delivered-To lines in the header only', () => {
    const head = 'Received: x\r\nRECEIVED: y\r\nreCeived\r\nDelivered-To: a\r\ndelivered\r\nReceive: no\r\n X-Received: no\r\n';
    expect(blast(`${head}\r\nReceived: body\r\n.\r\n`).hops).toBe(5);
    expect(blast(`${head}\r\nReceived: body\r\n.\r\n`, 1).hops).toBe(5);
  });

  it('gives the same output, hops and size limit whatever the chunking (random messages)', () => {
    let x = 99;
    const rnd = (): number => ((x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
    const alphabet = ['a', 'b', 'longer text', '\r\n', '\r', '.', '\r\n.', '\r\n\r\n', 'Received: x', 'DELIVERED', '\xff', ' ', '\n'];
    for (let k = 0; k < 2000; k++) {
      let m = '';
      const len = Math.floor(rnd() * 60);
      for (let i = 0; i < len; i++) m += alphabet[Math.floor(rnd() * alphabet.length)];
      m += '\r\n.\r\n';
      const limit = rnd() < 0.5 ? 0 : 1 + Math.floor(rnd() * 40);
      const whole = blast(m, 1 << 20, limit);
      const ref = reference(Buffer.from(m, 'latin1'), limit);
      expect({ out: whole.out, status: whole.status, tooBig: whole.tooBig }, JSON.stringify([m, limit])).toEqual(ref);
      for (const n of [1, 2, 3, 7, 17]) expect(blast(m, n, limit), JSON.stringify([m, n, limit])).toEqual(whole);
    }
  });

  it('stops storing past databytes but reads to the end', () => {
    expect(blast('12345\r\n.\r\n', 1, 6)).toMatchObject({ out: '12345\n', tooBig: false, status: 'end' });
    const r = blast('123456\r\nmore\r\n.\r\n', 1, 6);
    expect(r).toMatchObject({ tooBig: true, status: 'end' });
    expect(r.out).toBe('123456');
  });
});

describe('rcpthosts, badmailfrom, Received', () => {
  it('matches hosts and .wildcards, ASCII case ignored; no @ is allowed; no file allows all', () => {
    const rh = RcptHosts.fromLines(['Example.COM', '.wild.org']);
    expect(rh.allowed('a@example.com')).toBe(true);
    expect(rh.allowed('a@EXAMPLE.com')).toBe(true);
    expect(rh.allowed('a@sub.example.com')).toBe(false);
    expect(rh.allowed('a@x.wild.org')).toBe(true);
    expect(rh.allowed('a@y.x.wild.org')).toBe(true);
    expect(rh.allowed('a@wild.org')).toBe(false);
    expect(rh.allowed('postmaster')).toBe(true);
    expect(rh.allowed('a@b@example.com')).toBe(true);
    expect(rh.allowed('a@example.com@evil.net')).toBe(false);
    expect(RcptHosts.fromLines(undefined).allowed('a@anything')).toBe(true);
  });

  it('reads morercpthosts.cdb only when rcpthosts exists', () => {
    const home = tmpdir('smtpd-rh-');
    mkdirSync(`${home}/control`);
    writeFileSync(`${home}/control/morercpthosts.cdb`, cdbBuild([['more.net', ''], ['.deep.net', '']]));
    expect(RcptHosts.load(new Control(home)).allowed('a@nowhere')).toBe(true);
    writeFileSync(`${home}/control/rcpthosts`, 'example.com\n');
    const rh = RcptHosts.load(new Control(home));
    expect(rh.allowed('a@more.net')).toBe(true);
    expect(rh.allowed('a@MORE.net')).toBe(true);
    expect(rh.allowed('a@x.deep.net')).toBe(true);
    expect(rh.allowed('a@nowhere')).toBe(false);
    writeFileSync(`${home}/control/morercpthosts.cdb`, 'garbage');
    expect(() => RcptHosts.load(new Control(home)).allowed('a@x')).toThrow();
  });

  it('badmailfrom: addresses and @host', () => {
    const b = new BadMailFrom(['spam@Evil.net', '@bad.org']);
    expect(b.bad('SPAM@evil.net')).toBe(true);
    expect(b.bad('ham@evil.net')).toBe(false);
    expect(b.bad('anyone@bad.org')).toBe(true);
    expect(b.bad('anyone@sub.bad.org')).toBe(false);
    expect(b.bad('')).toBe(false);
    expect(new BadMailFrom(undefined).bad('x@y')).toBe(false);
  });

  it('writes the Received field as received.c, unsafe bytes as ?', () => {
    const when = Date.UTC(1995, 8, 26, 4, 46, 54) / 1000;
    expect(receivedField({ protocol: 'SMTP', local: 'silverton.berkeley.edu', remoteIp: '192.48.96.5', remoteHost: 'relay1.uu.net', remoteInfo: '7', helo: 'uunet.uu.net', when })).toBe(
      'Received: from relay1.uu.net (HELO uunet.uu.net) (7@192.48.96.5)\n  by silverton.berkeley.edu with SMTP; 26 Sep 1995 04:46:54 -0000\n',
    );
    expect(receivedField({ protocol: 'SMTP', local: '1.2.3.4', remoteIp: '5.6.7.8', remoteHost: 'unknown', helo: 'a b\r\nX-Evil: (1)', when })).toBe(
      'Received: from unknown (HELO a?b??X-Evil:??1?) (5.6.7.8)\n  by 1.2.3.4 with SMTP; 26 Sep 1995 04:46:54 -0000\n',
    );
  });

  it('EHLO advertises SIZE only with a databytes limit', () => {
    expect(ehlo250('h', 0)).toBe('250-h\r\n250-PIPELINING\r\n250 8BITMIME\r\n');
    expect(ehlo250('h', 1000)).toBe('250-h\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 1000\r\n');
  });
});

/** A session on in-memory streams: input given in chunks of n bytes; the replies and what was queued. */
export async function converse(input: Buffer, n: number, over: Partial<SmtpConfig> = {}): Promise<{ out: string; status: number; queued: string[] }> {
  const cfg: SmtpConfig = {
    greeting: 'mx.example ready',
    timeout: 5,
    rcpthosts: RcptHosts.fromLines(['example.com', '.example.org']),
    badmailfrom: new BadMailFrom(['bad@evil.net']),
    databytes: 0,
    remoteIp: '192.0.2.7',
    local: '192.0.2.1',
    remoteHost: 'client.example',
    ...over,
  };
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (b: Buffer) => (out += b.toString('latin1')));
  const queued: string[] = [];
  let qp = 100;
  const session = new SmtpSession(cfg, stdin, stdout, async (feed, e) => {
    let m: Buffer;
    try {
      const parts: Buffer[] = [];
      const buf = Buffer.alloc(100);
      for (let n; (n = await feed.read(buf)) > 0; ) parts.push(Buffer.from(buf.subarray(0, n)));
      m = Buffer.concat(parts);
    } catch {
      return { reply: 'Zqq read error (#4.3.0)', qp: 0 };
    }
    queued.push(`${m.toString('latin1').replace(/; \d+ \w+ \d+ [\d:]+ -0000\n/, '; DATE\n')}|${e.toString('latin1')}`);
    return { reply: '', qp: qp++ };
  });
  const done = session.run();
  void (async () => {
    for (let i = 0; i < input.length; i += n) {
      if (stdin.destroyed) break;
      stdin.write(input.subarray(i, i + n));
      await new Promise((r) => setImmediate(r));
    }
    stdin.end();
  })();
  const status = await done;
  stdin.destroy();
  return { out: out.replace(/^250 ok \d+ qp/gm, '250 ok TIME qp'), status, queued };
}

describe('session on streams', () => {
  it('answers every command with notqmail texts', async () => {
    const input = Buffer.from(
      'HELP\r\nNOOP\r\nVRFY x\r\nFOO\r\nRCPT TO:<a@example.com>\r\nDATA\r\nMAIL FROM:<s@x.net>\r\nDATA\r\nRCPT TO:<a@example.com>\r\n' +
        'RCPT TO:<a@elsewhere.net>\r\nRCPT TO:<a@x.example.org>\r\nrcpt to:<' + 'y'.repeat(900) + '>\r\nDATA\r\nSubject: hi\r\n\r\n..dot\r\n.\r\nRSET\r\nDATA\r\nMAIL FROM:<bad@EVIL.net>\r\nRCPT TO:<a@example.com>\r\n' +
        'helo Client.Example\r\nEHLO other\r\nquit\r\nNOOP\r\n',
      'latin1',
    );
    const r = await converse(input, 1 << 20);
    expect(r.out).toBe(
      '220 mx.example ready ESMTP\r\n214 notqmail home page: https://notqmail.org\r\n250 ok\r\n252 send some mail, i\'ll try my best\r\n502 unimplemented (#5.5.1)\r\n' +
        '503 MAIL first (#5.5.1)\r\n503 MAIL first (#5.5.1)\r\n250 ok\r\n503 RCPT first (#5.5.1)\r\n250 ok\r\n' +
        "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)\r\n250 ok\r\n555 syntax error (#5.5.4)\r\n354 go ahead\r\n250 ok TIME qp 100\r\n" +
        '250 flushed\r\n503 MAIL first (#5.5.1)\r\n250 ok\r\n553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)\r\n' +
        '250 mx.example ready\r\n250-mx.example ready\r\n250-PIPELINING\r\n250 8BITMIME\r\n221 mx.example ready\r\n',
    );
    expect(r.status).toBe(0);
    expect(r.queued).toEqual([
      'Received: from client.example (192.0.2.7)\n  by 192.0.2.1 with SMTP; DATE\nSubject: hi\n\n.dot\n|Fs@x.net\0Ta@example.com\0Ta@x.example.org\0\0',
    ]);
  });

  it('RELAYCLIENT skips rcpthosts and is appended; HELO differing from the host shows', async () => {
    const r = await converse(Buffer.from('HELO fake\r\nMAIL FROM:<>\r\nRCPT TO:<u@far.net>\r\nDATA\r\n.\r\nQUIT\r\n'), 3, { relayClient: '.relay', remoteInfo: 'ident' });
    expect(r.queued).toEqual(['Received: from client.example (HELO fake) (ident@192.0.2.7)\n  by 192.0.2.1 with SMTP; DATE\n|F\0Tu@far.net.relay\0\0']);
  });

  it('refuses 100 hops with 554 and a message over databytes with 552; SIZE= at MAIL', async () => {
    const hops = 'Received: x\r\n'.repeat(99);
    const ok = await converse(Buffer.from(`MAIL FROM:<>\r\nRCPT TO:<a@example.com>\r\nDATA\r\n${hops}\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<a@example.com>\r\nDATA\r\nDelivered-To: y\r\n${hops}\r\n.\r\nQUIT\r\n`), 1 << 20);
    expect(ok.out).toMatch(/354 go ahead\r\n250 ok TIME qp 100\r\n250 ok\r\n250 ok\r\n354 go ahead\r\n554 too many hops, this message is looping \(#5\.4\.6\)\r\n221/);
    const big = await converse(Buffer.from(`EHLO x\r\nMAIL FROM:<> SIZE=11\r\nMAIL FROM:<> SIZE=10\r\nRCPT TO:<a@example.com>\r\nDATA\r\n123456789\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<a@example.com>\r\nDATA\r\n1234567890\r\n.\r\nQUIT\r\n`), 17, { databytes: 10 });
    expect(big.out).toContain('250 SIZE 10\r\n552 sorry, that message size exceeds my databytes limit (#5.3.4)\r\n250 ok\r\n250 ok\r\n354 go ahead\r\n250 ok TIME qp 100\r\n250 ok\r\n250 ok\r\n354 go ahead\r\n552 sorry');
    expect(big.queued.length).toBe(1);
  });

  it('drops the connection on a bare LF in DATA (451), nothing queued; bare LF is fine in commands', async () => {
    const r = await converse(Buffer.from('NOOP\nMAIL FROM:<>\r\nRCPT TO:<a@example.com>\r\nDATA\r\nline\nmore\r\n.\r\nNOOP\r\n'), 3);
    expect(r.out).toBe('220 mx.example ready ESMTP\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go ahead\r\n451 See https://cr.yp.to/docs/smtplf.html.\r\n');
    expect(r.status).toBe(1);
    expect(r.queued).toEqual([]);
  });

  it('ends with exit 1 at EOF, also in DATA (nothing queued)', async () => {
    const r = await converse(Buffer.from('MAIL FROM:<>\r\nRCPT TO:<a@example.com>\r\nDATA\r\nSubject: cut\r\n'), 5);
    expect(r.status).toBe(1);
    expect(r.queued).toEqual([]);
  });

  it('cuts a command at NUL and answers an overlong line with 421', async () => {
    const r = await converse(Buffer.from('MAIL\0 FROM:<x@y>\r\nRCPT TO:<a@example.com>\r\nDATA\r\n.\r\nNO\0OP\r\n'), 1 << 20);
    expect(r.queued[0]).toMatch(/\|F\0Ta@example\.com\0\0$/);
    expect(r.out).toMatch(/502 unimplemented \(#5\.5\.1\)\r\n$/);
    const long = await converse(Buffer.from(`NOOP\r\n${'x'.repeat(70000)}\r\nNOOP\r\n`), 4096);
    expect(long.out).toBe('220 mx.example ready ESMTP\r\n250 ok\r\n421 out of memory (#4.3.0)\r\n');
    expect(long.status).toBe(1);
  });

  it('says 451 timeout after timeoutsmtpd seconds of silence', async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (b: Buffer) => (out += b.toString()));
    const cfg: SmtpConfig = { greeting: 'g', timeout: 1, rcpthosts: RcptHosts.fromLines(undefined), badmailfrom: new BadMailFrom(undefined), databytes: 0, remoteIp: 'unknown', local: 'unknown', remoteHost: 'unknown' };
    stdin.write('NOOP\r\nNO');
    const status = await new SmtpSession(cfg, stdin, stdout, () => Promise.reject(new Error('no'))).run();
    expect(status).toBe(1);
    expect(out).toBe('220 g ESMTP\r\n250 ok\r\n451 timeout (#4.4.2)\r\n');
  });
});

describe('fuzz: mutated sessions replayed in 1-, 3- and 17-byte chunks', () => {
  const pieces = [
    'HELO a\r\n', 'EHLO b.c\r\n', 'MAIL FROM:<s@x>\r\n', 'MAIL FROM:<>\r\n', 'RCPT TO:<a@example.com>\r\n', 'RCPT TO:<b@c.example.org>\r\n',
    'RCPT TO:<x@no.net>\r\n', 'DATA\r\n', 'Subject: x\r\n\r\nbody\r\n..\r\n.\r\n', 'RSET\r\n', 'NOOP\r\n', 'VRFY u\r\n', 'HELP\r\n',
    'mail from:a@b\r\n', 'rcpt to:"q u"@example.com\r\n', '\r\n', 'XYZZY\r\n', 'Received: a\r\n', '.\r\n',
  ];
  it('gives the same replies and queue whatever the chunking (seeded, ~3 s)', async () => {
    const rnd = prng(0x5eed);
    const end = Date.now() + 3000;
    let runs = 0;
    while (Date.now() < end) {
      let s = '';
      const k = 1 + Math.floor(rnd() * 12);
      for (let i = 0; i < k; i++) s += pieces[Math.floor(rnd() * pieces.length)];
      const b = Buffer.from(s, 'latin1');
      const muts = Math.floor(rnd() * 4);
      for (let i = 0; i < muts && b.length > 0; i++) {
        const at = Math.floor(rnd() * b.length);
        const r = rnd();
        b[at] = r < 0.3 ? 0x0a : r < 0.45 ? 0x0d : r < 0.55 ? 0x2e : r < 0.6 ? 0 : Math.floor(rnd() * 256);
      }
      const input = Buffer.concat([b, Buffer.from('QUIT\r\n')]);
      const whole = await converse(input, 1 << 20);
      for (const line of whole.out.split('\r\n').slice(0, -1)) expect(line).toMatch(/^[2345]\d\d[ -]/);
      for (const n of [1, 3, 17]) {
        const r = await converse(input, n);
        expect(r, `seed run ${runs}, chunks of ${n}: ${JSON.stringify(input.toString('latin1'))}`).toEqual(whole);
      }
      runs++;
    }
    expect(runs).toBeGreaterThan(10);
  });
});

describe('SASL PLAIN / LOGIN decoding', () => {
  const b64 = (s: string): string => Buffer.from(s, 'latin1').toString('base64');
  it('decodes PLAIN with and without authzid, refuses malformed input', () => {
    expect(decodePlain(Buffer.from('\0u\0p'))).toEqual(['u', 'p']);
    expect(decodePlain(Buffer.from('z\0u\0p'))).toEqual(['u', 'p']);
    expect(decodePlain(Buffer.from('\0\0p'))).toBeUndefined();
    expect(decodePlain(Buffer.from('u\0p'))).toBeUndefined();
    expect(unbase64('abc')).toBeUndefined();
    expect(unbase64('a b=')).toBeUndefined();
  });
  it('runs the exchanges with prompts', async () => {
    const asked: string[] = [];
    const answers = [b64('joe'), b64('pw')];
    const ask = async (p: string): Promise<string> => (asked.push(p), answers.shift()!);
    expect(await saslExchange('LOGIN', ask)).toEqual({ user: 'joe', pass: 'pw' });
    expect(asked).toEqual(['334 VXNlcm5hbWU6\r\n', '334 UGFzc3dvcmQ6\r\n']);
    expect(await saslExchange(`plain ${b64('\0a\0b')}`, ask)).toEqual({ user: 'a', pass: 'b' });
    expect(await saslExchange('PLAIN', async () => '*')).toEqual({ reply: '501 auth exchange cancelled (#5.0.0)\r\n' });
    expect(await saslExchange('PLAIN =', ask)).toEqual({ reply: '501 malformed auth input (#5.5.4)\r\n' });
    expect(await saslExchange('CRAM-MD5', ask)).toEqual({ reply: '504 auth type unimplemented (#5.5.1)\r\n' });
    expect(await saslExchange('', ask)).toEqual({ reply: '504 auth type unimplemented (#5.5.1)\r\n' });
  });
});

describe('a queue that cannot start', () => {
  it('answers 451 qqt failure after the message, as qmail_open failing', async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (b: Buffer) => (out += b.toString()));
    const cfg: SmtpConfig = { greeting: 'g', timeout: 5, rcpthosts: RcptHosts.fromLines(undefined), badmailfrom: new BadMailFrom(undefined), databytes: 0, remoteIp: 'unknown', local: 'unknown', remoteHost: 'unknown' };
    stdin.end('MAIL FROM:<>\r\nRCPT TO:<a@b>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n');
    const status = await new SmtpSession(cfg, stdin, stdout, () => Promise.reject(new Error('EMFILE'))).run();
    expect(status).toBe(0);
    expect(out).toBe('220 g ESMTP\r\n250 ok\r\n250 ok\r\n354 go ahead\r\n451 qqt failure (#4.3.0)\r\n221 g\r\n');
  });
});
