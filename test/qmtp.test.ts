/**
 * QMTP and QMQP: the netstring module (with a seeded fuzz test), the
 * qmail-qmtpd / qmail-qmqpd conversations byte for byte, and round trips
 * into a real queue in a tmpdir: a QMTP client -> our tcpserver running
 * qmail-qmtpd, and qmail-qmqpc -> our tcpserver running qmail-qmqpd.
 */
import { describe, expect, it, afterAll } from 'vitest';
import { execa } from 'execa';
import { PassThrough } from 'node:stream';
import { connect } from 'node:net';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { ours, theirs, isRoot, prng } from './helpers.ts';
import { startServer, type Running } from './tcphelpers.ts';
import { loopback, makeHome } from './remote-helpers.ts';
import { ByteReader, encode, encodeList, NetstringError, parse, parseAll } from '../src/lib/netstring.ts';
import { qmtpServe, QmtpExit } from '../src/lib/qmtp/qmtpd.ts';
import { qmqpServe } from '../src/lib/qmtp/qmqpd.ts';
import { runSession } from '../src/lib/qmtp/serverenv.ts';
import { qmqpPacket, qmqpSend } from '../src/lib/qmtp/qmqpc.ts';
import { RcptHosts } from '../src/lib/smtp/rcpthosts.ts';
import { parseQueuedEnvelope } from '../src/lib/queue/envelope.ts';

const stops: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const s of stops.splice(0)) await s();
});

/** Feed bytes to a ByteReader in chunks of `size` bytes. */
function readerOf(b: Buffer, size = 1 << 20): ByteReader {
  const s = new PassThrough();
  const r = new ByteReader(s);
  (async () => {
    for (let i = 0; i < b.length; i += size) {
      s.write(b.subarray(i, i + size));
      await new Promise((res) => setImmediate(res));
    }
    s.end();
  })();
  return r;
}

describe('netstring', () => {
  it('encodes and parses', () => {
    expect(encode('hello world!').toString()).toBe('12:hello world!,');
    expect(encode('').toString()).toBe('0:,');
    expect(parseAll(Buffer.from('3:abc,0:,'))).toEqual([Buffer.from('abc'), Buffer.alloc(0)]);
    expect(parse(Buffer.from('007:abcdefg,x'), 0)).toEqual({ value: Buffer.from('abcdefg'), next: 12 });
    expect(parse(Buffer.from('5:ab'), 0)).toBe('more');
    expect(parse(Buffer.from('12'), 0)).toBe('more');
    for (const [bad, reason] of [
      [':,', 'length'],
      ['3x:abc,', 'length'],
      ['-1:,', 'length'],
      ['3:abcd', 'comma'],
      ['99999999999:', 'toolong'],
    ] as const)
      expect(() => parse(Buffer.from(bad), 0, 1e9)).toThrow(new NetstringError(reason));
  });

  it('seeded fuzz: round trips, mutations never crash, chunking does not matter', async () => {
    const rnd = prng(20261122);
    for (let round = 0; round < 300; round++) {
      const items = Array.from({ length: Math.floor(rnd() * 5) }, () => Buffer.from(Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256))));
      const enc = encodeList(items);
      expect(parseAll(enc)).toEqual(items);
      const m = Buffer.from(enc);
      for (let k = 0; k < 1 + Math.floor(rnd() * 3) && m.length > 0; k++) m[Math.floor(rnd() * m.length)] = [0x3a, 0x2c, 0x30 + Math.floor(rnd() * 10), Math.floor(rnd() * 256)][Math.floor(rnd() * 4)];
      try {
        parseAll(m, 1 << 20);
      } catch (e) {
        expect(e).toBeInstanceOf(NetstringError);
      }
    }
    // the QMTP server on the same session in 1-, 3- and 17-byte chunks
    const session = Buffer.concat([encode('\nSubject: x\n\nbody\n'), encode('a@b'), encode(encodeList(['u@c', 'v@c']))]);
    const outs: string[] = [];
    for (const size of [1, 3, 17, 1 << 20]) {
      const got: Buffer[] = [];
      const code = await runSession(() => qmtpServe(readerOf(session, size), qcfg(got, [])));
      expect(code).toBe(0);
      outs.push(Buffer.concat(got).toString().replace(/Kok \d+/g, 'Kok T'));
    }
    expect(new Set(outs).size).toBe(1);
  });

  it('seeded fuzz: mutated QMTP and QMQP sessions always end with 0, 100 or 111', async () => {
    const rnd = prng(5);
    const base = Buffer.concat([msg('\r', 'Subject: x\r\n\r\nbody\r\n', 'a@b', ['u@c', 'v@c']), msg('\n', 'two\n', '', ['w@c'])]);
    const qbase = encode(encodeList(['m\n', 's@x', 'u@y']));
    for (let round = 0; round < 150; round++) {
      for (const [b, serve] of [
        [base, (r: ByteReader) => qmtpServe(r, qcfg([], []))],
        [qbase, (r: ByteReader) => qmqpServe(r, { local: 'l', remoteIp: 'i', remoteHost: 'h', queue: async () => ({ reply: '', qp: 1 }), write: async () => undefined })],
      ] as const) {
        const m = Buffer.from(b);
        for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) m[Math.floor(rnd() * m.length)] = Math.floor(rnd() * 256);
        const cut = m.subarray(0, rnd() < 0.3 ? Math.floor(rnd() * m.length) : m.length);
        const code = await runSession(() => serve(readerOf(cut, 1 + Math.floor(rnd() * 20))));
        expect([0, 100, 111]).toContain(code);
      }
    }
  });
});

interface Queued {
  message: string;
  envelope: string;
}

function qcfg(out: Buffer[], q: Queued[], extra: Partial<Parameters<typeof qmtpServe>[1]> = {}) {
  return {
    databytes: 0,
    rcpthosts: RcptHosts.fromLines(undefined),
    local: 'mx.test',
    remoteIp: '10.0.0.1',
    remoteHost: 'client.test',
    queue: async (m: Buffer, e: Buffer) => {
      q.push({ message: m.toString('latin1'), envelope: e.toString('latin1') });
      return { reply: '', qp: 4242 };
    },
    write: async (b: Buffer) => void out.push(Buffer.from(b)),
    ...extra,
  };
}

async function qmtp(input: Buffer | string, extra: Partial<Parameters<typeof qmtpServe>[1]> = {}) {
  const out: Buffer[] = [];
  const q: Queued[] = [];
  const code = await runSession(() => qmtpServe(readerOf(Buffer.from(input as string, 'latin1')), qcfg(out, q, extra)));
  const raw = Buffer.concat(out).toString('latin1');
  return { code, raw, out: raw.replace(/\d+:Kok \d+ qp/g, 'N:Kok T qp'), q };
}

const msg = (mode: string, body: string, sender: string, rcpts: string[]) => Buffer.concat([encode(mode + body), encode(sender), encode(encodeList(rcpts))]);
const DATE = /; \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d -0000\n/;

describe('qmail-qmtpd conversation', () => {
  it('LF mode: queued with a QMTP Received line, one reply per recipient', async () => {
    const r = await qmtp(msg('\n', 'Subject: x\n\nhi\r\n', 'a@b.example', ['u@c.example', 'v@c.example']));
    expect(r.code).toBe(0);
    const raw = /^(\d+):(Kok \d+ qp 4242),/.exec(r.raw)!;
    expect(Number(raw[1])).toBe(raw[2].length);
    expect(r.out).toBe('N:Kok T qp 4242,N:Kok T qp 4242,');
    expect(r.q.length).toBe(1);
    expect(r.q[0].message.replace(DATE, '; DATE\n')).toBe('Received: from client.test (10.0.0.1)\n  by mx.test with QMTP; DATE\nSubject: x\n\nhi\r\n');
    expect(r.q[0].envelope).toBe('Fa@b.example\0Tu@c.example\0Tv@c.example\0\0');
  });

  it('CR LF mode converts CR LF, keeps other CRs; several messages per connection', async () => {
    const r = await qmtp(Buffer.concat([msg('\r', 'a\r\nb\rc\r\r\nd\r', 's@x', ['u@y']), msg('\n', 'second\n', '', ['w@y'])]));
    expect(r.code).toBe(0);
    expect(r.q.map((q) => q.message.replace(/^Received:[^\n]*\n[^\n]*\n/, ''))).toEqual(['a\nb\rc\r\nd\r', 'second\n']);
    expect(r.q[1].envelope).toBe('F\0Tw@y\0\0');
    expect(r.out).toBe('N:Kok T qp 4242,N:Kok T qp 4242,');
  });

  it('rcpthosts, RELAYCLIENT, bad recipients, bad sender, databytes', async () => {
    const rh = RcptHosts.fromLines(['c.example', '.d.example']);
    let r = await qmtp(msg('\n', 'x\n', 's@x', ['u@c.example', 'u@elsewhere', 'u@sub.d.example', 'n\0ul@c.example', 'l'.repeat(1000)]), { rcpthosts: rh });
    expect(r.out).toBe("N:Kok T qp 4242,66:Dsorry, that domain isn't in my list of allowed rcpthosts (#5.7.1),N:Kok T qp 4242,46:Dsorry, I can't handle that recipient (#5.1.3),46:Dsorry, I can't handle that recipient (#5.1.3),");
    expect(r.q[0].envelope).toBe('Fs@x\0Tu@c.example\0Tu@sub.d.example\0\0');
    r = await qmtp(msg('\n', 'x\n', 's@x', ['u@elsewhere']), { rcpthosts: rh, relayclient: '@relay' });
    expect(r.q[0].envelope).toBe('Fs@x\0Tu@elsewhere@relay\0\0');
    r = await qmtp(msg('\n', 'x\n', 's\0x', ['u@c.example']));
    expect([r.out, r.q.length]).toEqual(['29:Dunacceptable sender (#5.1.7),', 0]);
    r = await qmtp(msg('\n', 'x'.repeat(11), 's@x', ['u@c.example']), { databytes: 10 });
    expect([r.out, r.q.length]).toEqual(['61:Dsorry, that message size exceeds my databytes limit (#5.3.4),', 0]);
    r = await qmtp(msg('\r', 'x'.repeat(9) + '\r\n', 's@x', ['u@c.example']), { databytes: 10 });
    expect(r.q.length).toBe(1);
    r = await qmtp(msg('\n', 'x\n', 's@x', ['u@elsewhere']), { rcpthosts: rh });
    expect(r.q.length).toBe(0);
    // the queue's own refusal reaches every accepted recipient
    r = await qmtp(msg('\n', 'x\n', 's@x', ['a@y', 'b@y']), { queue: async () => ({ reply: 'Zqq write error or disk full (#4.3.0)', qp: 0 }) });
    expect(r.out).toBe('37:Zqq write error or disk full (#4.3.0),37:Zqq write error or disk full (#4.3.0),');
  });

  it('malformed netstrings end the session with 100; EOF with 0; huge lengths with 111', async () => {
    for (const bad of ['x:', '0:,', '3:abc,', '2:\nab', Buffer.concat([encode('\nx\n'), Buffer.from('1:a;')]).toString('latin1'), Buffer.concat([encode('\nx\n'), encode('s'), encode('9:abc,')]).toString('latin1')])
      expect((await qmtp(bad)).code).toBe(100);
    expect((await qmtp('')).code).toBe(0);
    expect((await qmtp('5:\nab')).code).toBe(0);
    // the original checks the bound before each further byte: 10 digits pass, 11 do not
    expect((await qmtp('2000000000:')).code).toBe(0);
    expect((await qmtp('20000000000:')).code).toBe(111);
  });
});

async function qmqp(input: Buffer) {
  const out: Buffer[] = [];
  const q: Queued[] = [];
  const code = await runSession(() =>
    qmqpServe(readerOf(input), {
      local: 'mx.test',
      remoteIp: '10.0.0.2',
      remoteHost: 'unknown',
      remoteInfo: 'joe',
      queue: async (m, e) => {
        q.push({ message: m.toString('latin1'), envelope: e.toString('latin1') });
        return { reply: '', qp: 7 };
      },
      write: async (b) => void out.push(Buffer.from(b)),
    }),
  );
  return { code, out: Buffer.concat(out).toString('latin1').replace(/\d+:Kok \d+ qp/, 'N:Kok T qp'), q };
}

describe('qmail-qmqpd conversation and qmail-qmqpc packets', () => {
  it('packet from a qmail-queue envelope; the server queues it', async () => {
    const p = qmqpPacket(Buffer.from('Subject: q\n\nbody\n'), Buffer.from('Fs@x\0Tu@y\0Tv@z\0\0'));
    expect(p).toEqual(encode(encodeList(['Subject: q\n\nbody\n', 's@x', 'u@y', 'v@z'])));
    const r = await qmqp(p as Buffer);
    expect(r.code).toBe(0);
    expect(r.out).toBe('N:Kok T qp 7,');
    expect(r.q[0].message.replace(DATE, '; DATE\n')).toBe('Received: from unknown (joe@10.0.0.2)\n  by mx.test with QMQP; DATE\nSubject: q\n\nbody\n');
    expect(r.q[0].envelope).toBe('Fs@x\0Tu@y\0Tv@z\0\0');
  });

  it('bad envelopes for qmail-qmqpc; bad addresses and framing for qmail-qmqpd', async () => {
    for (const e of ['', 'Tx\0\0', 'Fs@x\0', 'Fs@x\0Xu\0\0', 'F\0\0x']) expect(qmqpPacket(Buffer.from('m'), Buffer.from(e))).toEqual(e === 'F\0\0x' ? encode(encodeList(['m', ''])) : 91);
    const r = await qmqp(encode(encodeList(['m\n', 's@x', 'a\0b'])));
    expect([r.out, r.q.length]).toEqual(["51:Dsorry, I can't accept addresses like that (#5.1.3),", 0]);
    expect((await qmqp(Buffer.from('5:3:abc,;'))).code).toBe(100);
    expect((await qmqp(Buffer.from('4:3:abc,'))).code).toBe(100);
    expect((await qmqp(Buffer.from('x'))).code).toBe(100);
    expect((await qmqp(Buffer.from('9:3:ab'))).code).toBe(0);
  });

  it('qmail-qmqpc exit codes without a server', async () => {
    expect(await qmqpSend([], Buffer.from('x'))).toBe(55);
    expect(await qmqpSend(['not an ip', '127.0.0.1 # ok'], Buffer.from('x'), 1)).toBe(73);
    const home = makeHome();
    const run = (env: Record<string, string>) => execa('sh', ['-c', `printf 'Fs@x\\0Tu@y\\0\\0' | { ${ours('qmail-qmqpc')} 3<&0 </dev/null 1<&3; }`], { env, reject: false });
    expect((await run({ QMAILHOME: home })).exitCode).toBe(55);
    expect((await run({ QMAILHOME: `${home}/none` })).exitCode).toBe(61);
  });
});

/** Every queued message of a home: mess bytes and the todo envelope. */
function queued(home: string) {
  const q = `${home}/queue`;
  return readdirSync(`${q}/todo`).map((id) => ({
    mess: readFileSync(`${q}/mess/${Number(id) % 23}/${id}`, 'latin1'),
    env: parseQueuedEnvelope(readFileSync(`${q}/todo/${id}`))!,
  }));
}

/** A QMTP client: send, half-close, collect the replies. */
function qmtpClient(ip: string, port: number, data: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: ip, port });
    let got = '';
    s.on('data', (b) => (got += b.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.on('connect', () => s.end(data));
  });
}

describe('round trips through tcpserver into a queue', () => {
  it('QMTP client -> tcpserver qmail-qmtpd (in-process) -> queue', async () => {
    const home = makeHome({ rcpthosts: 'c.example\n' });
    const ip = loopback();
    const srv: Running = await startServer(ours('tcpserver'), ['-H', '-R', '-l', 'mx.test', ip, '0', ours('qmail-qmtpd')], { PATH: '/usr/bin:/bin', QMAILHOME: home });
    stops.push(() => srv.stop());
    const out = await qmtpClient(ip, srv.port, Buffer.concat([msg('\n', 'Subject: rt\n\nline\n', 'a@b', ['u@c.example', 'x@other']), msg('\r', 'two\r\n', 'a@b', ['v@c.example'])]));
    expect(out).toMatch(/^\d+:Kok \d+ qp \d+,66:Dsorry, that domain isn't in my list of allowed rcpthosts \(#5\.7\.1\),\d+:Kok \d+ qp \d+,$/);
    const q = queued(home);
    expect(q.length).toBe(2);
    const first = q.find((m) => m.mess.includes('Subject: rt'))!;
    expect(first.mess).toMatch(new RegExp(`^Received: \\(qmail \\d+ invoked from network\\); .*\\nReceived: from unknown \\(127\\.0\\.0\\.1\\)\\n  by mx\\.test with QMTP; .*\\nSubject: rt\\n\\nline\\n$`));
    expect(first.env.sender.toString()).toBe('a@b');
    expect(first.env.recipients.map(String)).toEqual(['u@c.example']);
  });

  it.skipIf(!theirs('tcpserver'))("under Debian's tcpserver, qmail-qmtpd runs as a process: same replies, 100 on garbage", async () => {
    const home = makeHome();
    const ip = loopback();
    const srv: Running = await startServer(theirs('tcpserver')!, ['-v', '-H', '-R', '-l', 'mx.test', ip, '0', ours('qmail-qmtpd')], { PATH: '/usr/bin:/bin', QMAILHOME: home });
    stops.push(() => srv.stop());
    const out = await qmtpClient(ip, srv.port, msg('\n', 'Subject: proc\n\nx\n', 'a@b', ['u@c.example']));
    expect(out).toMatch(/^\d+:Kok \d+ qp \d+,$/);
    const q = queued(home);
    expect(q.length).toBe(1);
    expect(q[0].mess).toMatch(/^Received: \(qmail \d+ invoked from network\); .*\nReceived: from unknown \(127\.0\.0\.1\)\n  by mx\.test with QMTP; /);
    expect(await qmtpClient(ip, srv.port, Buffer.from('garbage'))).toBe('');
    await new Promise((r) => setTimeout(r, 200));
    expect(srv.log()).toMatch(/end \d+ status 25600/);
  });

  it.skipIf(!isRoot)('qmail-qmqpc (as QMAILQUEUE) -> tcpserver qmail-qmqpd on port 628 -> queue', async () => {
    const server = makeHome();
    const client = makeHome();
    const ip = loopback();
    let srv: Running;
    try {
      srv = await startServer(ours('tcpserver'), ['-H', '-R', '-l', 'qmqp.test', ip, '628', ours('qmail-qmqpd')], { PATH: '/usr/bin:/bin', QMAILHOME: server });
    } catch (e) {
      console.log(`skipped: cannot listen on ${ip}:628: ${String(e)}`);
      return;
    }
    stops.push(() => srv.stop());
    writeFileSync(`${client}/control/qmqpservers`, `127.0.0.1x\n${loopback()}\n${ip}\n`);
    // through the queue client's program route: QMAILQUEUE=qmail-qmqpc
    const { runQueueProgram } = await import('../src/lib/queue/client.ts');
    const r = await runQueueProgram(ours('qmail-qmqpc'), { QMAILHOME: client, PATH: '/usr/bin:/bin' }, Buffer.from('Subject: qmqp\n\nhello\n'), Buffer.from('Fs@x.example\0Tu@y.example\0Tw@y.example\0\0'));
    expect([r.code, r.reply]).toEqual([0, '']);
    const q = queued(server);
    expect(q.length).toBe(1);
    expect(q[0].mess).toMatch(/\nReceived: from unknown \(127\.0\.0\.1\)\n  by qmqp\.test with QMQP; .*\nSubject: qmqp\n\nhello\n$/);
    expect(q[0].env.recipients.map(String)).toEqual(['u@y.example', 'w@y.example']);
    // a server that refuses connections only: 73
    writeFileSync(`${client}/control/qmqpservers`, `${loopback()}\n`);
    const r2 = await runQueueProgram(ours('qmail-qmqpc'), { QMAILHOME: client }, Buffer.from('x\n'), Buffer.from('Fs\0Tu\0\0'));
    expect([r2.code, r2.reply]).toEqual([73, 'Zconnection to mail server rejected (#4.4.1)']);
  });
});

it('QmtpExit carries the code', () => {
  expect(new QmtpExit(100).code).toBe(100);
});
