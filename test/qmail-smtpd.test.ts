/**
 * qmail-smtpd through tcpserver with real SMTP clients (swaks, Python's
 * smtplib, raw sockets): in-process under our tcpserver and as a real
 * process under Debian's tcpserver, with a queue made by queueCreate in a
 * tmpdir (QMAILHOME). Replies are compared with notqmail's texts (golden
 * strings below), the queued mess/intd/todo files byte for byte, relay
 * control through a tcp.smtp cdb, and bad input: overlong lines, commands
 * out of order, a disconnect in DATA, binary garbage, 10 000 RCPTs, a
 * message over databytes, a client that stalls (timeoutsmtpd).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { connect } from 'node:net';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { ours, theirs, tmpdir, until } from './helpers.ts';
import { startServer, talk, type Running } from './tcphelpers.ts';
import { queueCreate } from '../src/lib/queue/create.ts';
import { cdbBuild } from '../src/lib/cdb.ts';

const debianTcpserver = theirs('tcpserver');
const swaks = theirs('swaks');
const python = theirs('python3');

/** A qmail home with a queue and the usual controls. */
function makeHome(controls: Record<string, string> = {}): string {
  const home = `${tmpdir('smtpd-')}/qmail`;
  queueCreate(home);
  mkdirSync(`${home}/control`);
  const all: Record<string, string> = { me: 'mx.test\n', rcpthosts: 'example.com\n.example.org\n', ...controls };
  for (const [k, v] of Object.entries(all)) writeFileSync(`${home}/control/${k}`, v);
  return home;
}

interface Queued {
  id: number;
  mess: string;
  intd: string;
  todo: string;
}

/** Every message in todo/, with its mess and intd bytes (latin1). */
function queued(home: string): Queued[] {
  const q = `${home}/queue`;
  return readdirSync(`${q}/todo`)
    .map(Number)
    .map((id) => [id, statSync(`${q}/intd/${id}`).mtimeMs] as const)
    .sort((a, b) => a[1] - b[1] || a[0] - b[0])
    .map(([id]) => ({
      id,
      mess: readFileSync(`${q}/mess/${id % 23}/${id}`, 'latin1'),
      intd: readFileSync(`${q}/intd/${id}`, 'latin1'),
      todo: readFileSync(`${q}/todo/${id}`, 'latin1'),
    }));
}

/** Files in pid/, intd/ and mess/* (a message in progress or left behind shows here). */
function inProgress(home: string): number {
  const q = `${home}/queue`;
  let n = readdirSync(`${q}/pid`).length + readdirSync(`${q}/intd`).length;
  for (const s of readdirSync(`${q}/mess`)) n += readdirSync(`${q}/mess/${s}`).length;
  return n;
}

const DATE = /\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d -0000/g;

/** Start a tcpserver (ours: qmail-smtpd in-process; Debian's: as a process) for a home. */
function server(bin: string, home: string, opts: { rules?: string; env?: Record<string, string> } = {}): Promise<Running> {
  const args = ['-v', '-H', '-R', '-l', 'mx.test', ...(opts.rules ? ['-x', opts.rules] : []), '127.0.0.1', '0', ours('qmail-smtpd')];
  return startServer(bin, args, { PATH: '/usr/bin:/bin', QMAILHOME: home, ...opts.env });
}

/** A conversation: write each piece after the previous replies settle (or all at once), collect until close. */
function converse(port: number, pieces: Array<string | Buffer>, pauseMs = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let got = '';
    s.on('data', (b) => (got += b.toString('latin1')));
    s.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve(got) : reject(e)));
    s.on('close', () => resolve(got));
    s.on('connect', async () => {
      for (const p of pieces) {
        if (s.destroyed) return;
        s.write(p);
        if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
      }
      if (!s.destroyed) s.end();
    });
  });
}

/** The `<-` lines of a swaks transcript. */
function swaksReplies(out: string): string {
  return out
    .split('\n')
    .filter((l) => /^<(-|\*\*) /.test(l))
    .join('\n');
}

const GREETING = '220 mx.test ESMTP\r\n';

describe('qmail-smtpd in-process under our tcpserver', () => {
  let home: string;
  let srv: Running;
  beforeAll(async () => {
    home = makeHome({ badmailfrom: 'spam@evil.test\n@worse.test\n', rcpthosts: 'example.com\n.example.org\nmx.test\n' });
    srv = await server(ours('tcpserver'), home);
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it.skipIf(!swaks)('takes a message from swaks; mess/intd/todo byte for byte, qp = the queue pid', async () => {
    const before = queued(home).length;
    const r = await execa(swaks!, ['--server', `127.0.0.1:${srv.port}`, '--helo', 'client.test', '--from', 'a@sender.test', '--to', 'u@example.com,v@x.example.org', '--header', 'Subject: hello', '--body', 'line one\n.dotted\n8-bit \xe9t\xe9'], { reject: false });
    expect(r.exitCode).toBe(0);
    expect(swaksReplies(r.stdout).replace(/qp \d+/, 'qp N').replace(/ok \d+/, 'ok T')).toBe(
      ['<-  220 mx.test ESMTP', '<-  250-mx.test', '<-  250-PIPELINING', '<-  250 8BITMIME', '<-  250 ok', '<-  250 ok', '<-  250 ok', '<-  354 go ahead', '<-  250 ok T qp N', '<-  221 mx.test'].join('\n'),
    );
    const qp = /250 ok \d+ qp (\d+)/.exec(r.stdout)![1];
    const q = queued(home);
    expect(q.length).toBe(before + 1);
    const m = q[q.length - 1];
    expect(m.intd).toBe(`u0\0p${qp}\0Fa@sender.test\0Tu@example.com\0Tv@x.example.org\0`);
    expect(m.todo).toBe(m.intd);
    const head = `Received: (qmail ${qp} invoked from network); DATE\nReceived: from unknown (HELO client.test) (127.0.0.1)\n  by mx.test with SMTP; DATE\n`;
    expect(m.mess.replace(DATE, 'DATE').startsWith(head)).toBe(true);
    expect(m.mess).toMatch(/\nSubject: hello\n/);
    // swaks adds blank lines of its own after the body
    expect(m.mess).toMatch(/\n\nline one\n\.dotted\n8-bit \xc3\xa9t\xc3\xa9\n+$/);
    expect(m.mess).not.toContain('\r');
  });

  it.skipIf(!python)("takes 8-bit mail with dots and CRs from Python's smtplib", async () => {
    const before = queued(home).length;
    const script = `
import smtplib, sys
body = b"Subject: py\\r\\n\\r\\n.leading dot\\r\\n..two\\r\\nbare\\rcr\\r\\n\\xff\\x00\\x80 high\\r\\n"
s = smtplib.SMTP("127.0.0.1", ${srv.port})
code, msg = s.ehlo("py.test")
print(code, msg.decode())
print(s.sendmail("p@py.test", ["one@example.com", "two@EXAMPLE.COM"], body))
print(s.noop(), s.verify("x"), s.docmd("HELP"), s.rset())
s.quit()
`;
    const r = await execa(python!, ['-c', script], { reject: false });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      "250 mx.test\nPIPELINING\n8BITMIME\n{}\n(250, b'ok') (252, b\"send some mail, i'll try my best\") (214, b'notqmail home page: https://notqmail.org') (250, b'flushed')",
    );
    const q = queued(home);
    expect(q.length).toBe(before + 1);
    const m = q[q.length - 1];
    expect(m.intd.replace(/p\d+/, 'pN')).toBe('u0\0pN\0Fp@py.test\0Tone@example.com\0Ttwo@EXAMPLE.COM\0');
    expect(m.mess.replace(DATE, 'DATE').replace(/qmail \d+/, 'qmail N')).toBe(
      'Received: (qmail N invoked from network); DATE\nReceived: from unknown (HELO py.test) (127.0.0.1)\n  by mx.test with SMTP; DATE\nSubject: py\n\n.leading dot\n..two\nbare\rcr\n\xff\x00\x80 high\n',
    );
  });

  it('answers a pipelined session with notqmail texts (golden transcript)', async () => {
    const before = queued(home).length;
    const out = await converse(srv.port, [
      'EHLO c\r\nMAIL FROM:<s@sender.test>\r\nRCPT TO:<u@example.com>\r\nRCPT TO:<u@elsewhere.test>\r\nRCPT TO:<u@[127.0.0.1]>\r\nDATA\r\nSubject: p\r\n\r\nx\r\n.\r\nRSET\r\nDATA\r\nRCPT TO:<u@example.com>\r\n' +
        'MAIL FROM:<SPAM@evil.test>\r\nRCPT TO:<u@example.com>\r\nMAIL FROM:<x@worse.test>\r\nRCPT TO:<u@example.com>\r\nMAIL FROM:<>\r\nDATA\r\nVRFY u\r\nNOOP\r\nHELP\r\nETRN x\r\nHELO\r\nQUIT\r\n',
    ]);
    expect(out.replace(/ok \d+ qp \d+/, 'ok T qp N')).toBe(
      GREETING +
        '250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n250 ok\r\n250 ok\r\n' +
        "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)\r\n250 ok\r\n354 go ahead\r\n250 ok T qp N\r\n" +
        '250 flushed\r\n503 MAIL first (#5.5.1)\r\n503 MAIL first (#5.5.1)\r\n' +
        '250 ok\r\n553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)\r\n250 ok\r\n553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)\r\n' +
        "250 ok\r\n503 RCPT first (#5.5.1)\r\n252 send some mail, i'll try my best\r\n250 ok\r\n214 notqmail home page: https://notqmail.org\r\n502 unimplemented (#5.5.1)\r\n250 mx.test\r\n221 mx.test\r\n",
    );
    const q = queued(home);
    expect(q.length).toBe(before + 1);
    // localiphost (default me) rewrote u@[127.0.0.1]
    expect(q[q.length - 1].intd).toMatch(/\0Fs@sender\.test\0Tu@example\.com\0Tu@mx\.test\0$/);
  });

  it('gives the same replies and message when the session arrives in 1-, 3- and 17-byte pieces', async () => {
    const session = 'EHLO c\r\nMAIL FROM:<f@b.test>\r\nRCPT TO:<u@example.com>\r\nDATA\r\nSubject: frag\r\n\r\n..x\r\ny\r\n.\r\nNOOP\r\nQUIT\r\n';
    const results: string[] = [];
    for (const n of [1, 3, 17]) {
      const pieces: string[] = [];
      for (let i = 0; i < session.length; i += n) pieces.push(session.slice(i, i + n));
      const out = await converse(srv.port, pieces, 1);
      const q = queued(home);
      results.push(out.replace(/ok \d+ qp \d+/, 'ok T qp N') + q[q.length - 1].mess.replace(DATE, 'DATE').replace(/qmail \d+/, 'qmail N'));
    }
    expect(results[0]).toMatch(/250 ok T qp N\r\n250 ok\r\n221 mx\.test\r\n.*Subject: frag\n\n\.x\ny\n$/s);
    expect(results[1]).toBe(results[0]);
    expect(results[2]).toBe(results[0]);
  });

  it('refuses relaying without RELAYCLIENT: 553 and nothing queued', async () => {
    const before = queued(home).length;
    const out = await converse(srv.port, ['HELO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@far.test>\r\nDATA\r\n.\r\nQUIT\r\n']);
    expect(out).toBe(`${GREETING}250 mx.test\r\n250 ok\r\n553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)\r\n503 RCPT first (#5.5.1)\r\n502 unimplemented (#5.5.1)\r\n221 mx.test\r\n`);
    expect(queued(home).length).toBe(before);
  });

  it('sees an edit of control/rcpthosts at the next connection (controls are cached by stat)', async () => {
    const rcpt = 'HELO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@far.test>\r\nQUIT\r\n';
    const file = `${home}/control/rcpthosts`;
    const old = readFileSync(file, 'latin1');
    try {
      expect(await converse(srv.port, [rcpt])).toContain('553 sorry');
      writeFileSync(file, `${old}far.test\n`);
      expect(await converse(srv.port, [rcpt])).toContain('250 ok\r\n221 mx.test');
      writeFileSync(file, old);
      expect(await converse(srv.port, [rcpt])).toContain('553 sorry');
    } finally {
      writeFileSync(file, old);
    }
  });

  it('sees a control file appear at the next connection, also behind a dangling symbolic link (absent files are skipped only while control/ is unchanged)', async () => {
    const ehlo = 'EHLO x\r\nQUIT\r\n';
    const file = `${home}/control/databytes`;
    const target = `${tmpdir('smtpd-link-')}/databytes`;
    const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 150));
    try {
      await settle();
      expect(await converse(srv.port, [ehlo])).not.toContain('SIZE');
      expect(await converse(srv.port, [ehlo])).not.toContain('SIZE'); // now from the kept copy
      writeFileSync(file, '4321\n');
      expect(await converse(srv.port, [ehlo])).toContain('250 SIZE 4321\r\n');
      rmSync(file);
      symlinkSync(target, file);
      await settle();
      expect(await converse(srv.port, [ehlo])).not.toContain('SIZE');
      expect(await converse(srv.port, [ehlo])).not.toContain('SIZE');
      writeFileSync(target, '1234\n'); // control/ itself does not change
      expect(await converse(srv.port, [ehlo])).toContain('250 SIZE 1234\r\n');
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('queues nothing when the client disconnects in DATA; ends with status 256', async () => {
    const before = queued(home).length;
    const out = await converse(srv.port, ['MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.com>\r\nDATA\r\nSubject: cut\r\n\r\nhalf a mess']);
    expect(out).toBe(`${GREETING}250 ok\r\n250 ok\r\n354 go ahead\r\n`);
    await until(() => /end \d+ status 256\n[^]*$/.test(srv.log()));
    expect(queued(home).length).toBe(before);
    // the message streamed into mess/ from the start of DATA; all of it is removed again
    expect(inProgress(home)).toBe(2 * before);
  });

  it('streams a 16 MB message into the queue byte for byte', async () => {
    const before = queued(home).length;
    const line = `${'z'.repeat(70)}\r\n..dot\r\n`;
    const body = line.repeat(Math.ceil((16 << 20) / line.length));
    const out = await converse(srv.port, ['MAIL FROM:<big@b.test>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n', 'Subject: big\r\n\r\n', body, '.\r\nQUIT\r\n']);
    expect(out).toMatch(/354 go ahead\r\n250 ok \d+ qp \d+\r\n221 mx\.test\r\n$/);
    const q = queued(home);
    expect(q.length).toBe(before + 1);
    const m = q[q.length - 1].mess;
    const want = `Subject: big\n\n${body.replace(/\r\n\.\./g, '\r\n.').replace(/\r\n/g, '\n')}`;
    expect(m.length).toBe(m.indexOf('Subject: big') + want.length);
    expect(m.endsWith(want)).toBe(true);
  });

  it('drops the connection on a bare LF in DATA, nothing queued', async () => {
    const before = queued(home).length;
    const out = await converse(srv.port, ['MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.com>\r\nDATA\r\nbare\nlf\r\n.\r\nNOOP\r\n']);
    expect(out).toBe(`${GREETING}250 ok\r\n250 ok\r\n354 go ahead\r\n451 See https://cr.yp.to/docs/smtplf.html.\r\n`);
    expect(queued(home).length).toBe(before);
  });

  it('survives binary garbage and still answers', async () => {
    const garbage = Buffer.alloc(4096);
    let x = 12345;
    for (let i = 0; i < garbage.length; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      garbage[i] = x >> 16;
    }
    const out = await converse(srv.port, [garbage, '\r\nNOOP\r\nQUIT\r\n']);
    expect(out.startsWith(GREETING)).toBe(true);
    expect(out.endsWith('250 ok\r\n221 mx.test\r\n')).toBe(true);
    for (const l of out.split('\r\n').slice(0, -1)) expect(l).toMatch(/^(220|221|250|252|214|502|503|555|553|354|451) /);
  });

  it('answers a command line over 64 KB with 421 and closes', async () => {
    const out = await converse(srv.port, ['NOOP\r\n', `MAIL FROM:<${'x'.repeat(70_000)}>\r\n`, 'NOOP\r\n'], 50);
    expect(out).toBe(`${GREETING}250 ok\r\n421 out of memory (#4.3.0)\r\n`);
  });

  it('takes 10 000 pipelined RCPTs in one message', async () => {
    const before = queued(home).length;
    let cmds = 'MAIL FROM:<many@b.test>\r\n';
    for (let i = 0; i < 10_000; i++) cmds += `RCPT TO:<user${i}@example.com>\r\n`;
    const out = await converse(srv.port, [cmds, 'DATA\r\nSubject: many\r\n\r\n.\r\nQUIT\r\n']);
    expect(out.split('250 ok\r\n').length - 1).toBe(10_001);
    expect(out).toMatch(/354 go ahead\r\n250 ok \d+ qp \d+\r\n221 mx\.test\r\n$/);
    const q = queued(home);
    expect(q.length).toBe(before + 1);
    expect(q[q.length - 1].intd.split('\0T').length - 1).toBe(10_000);
  });
});

describe('qmail-smtpd controls and environment (in-process)', () => {
  it('relays with RELAYCLIENT from a tcp.smtp rule and appends its value', async () => {
    const home = makeHome();
    const dir = tmpdir('smtpd-rules-');
    await execa(ours('tcprules'), [`${dir}/tcp.smtp.cdb`, `${dir}/tcp.smtp.tmp`], { input: '127.0.0.1:allow,RELAYCLIENT=""\n' });
    const srv = await server(ours('tcpserver'), home, { rules: `${dir}/tcp.smtp.cdb` });
    try {
      const out = await converse(srv.port, ['MAIL FROM:<a@b.test>\r\nRCPT TO:<u@far.test>\r\nDATA\r\n.\r\nQUIT\r\n']);
      expect(out).toMatch(/^220 mx\.test ESMTP\r\n250 ok\r\n250 ok\r\n354 go ahead\r\n250 ok \d+ qp \d+\r\n221 mx\.test\r\n$/);
      await execa(ours('tcprules'), [`${dir}/tcp.smtp.cdb`, `${dir}/tcp.smtp.tmp`], { input: '127.0.0.1:allow,RELAYCLIENT="@hub.test"\n' });
      await converse(srv.port, ['MAIL FROM:<>\r\nRCPT TO:<v@far.test>\r\nDATA\r\n.\r\nQUIT\r\n']);
      const q = queued(home);
      expect(q.map((m) => m.intd.replace(/^u0\0p\d+\0/, ''))).toEqual(['Fa@b.test\0Tu@far.test\0', 'F\0Tv@far.test@hub.test\0']);
    } finally {
      await srv.stop();
    }
  });

  it('uses morercpthosts.cdb and leaves no descriptor open after the sessions', async () => {
    const home = makeHome({ rcpthosts: 'example.com\n' });
    writeFileSync(`${home}/control/morercpthosts.cdb`, cdbBuild([['more.test', ''], ['.deep.test', '']]));
    const srv = await server(ours('tcpserver'), home);
    try {
      const fds = (): number => readdirSync(`/proc/${srv.child.pid}/fd`).length;
      await talk(srv.port, 'QUIT\r\n');
      const before = fds();
      for (let i = 0; i < 10; i++) {
        const out = await talk(srv.port, 'MAIL FROM:<>\r\nRCPT TO:<a@more.test>\r\nRCPT TO:<a@x.deep.test>\r\nRCPT TO:<a@deep.test>\r\nQUIT\r\n');
        expect(out).toBe(`${GREETING}250 ok\r\n250 ok\r\n250 ok\r\n553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)\r\n221 mx.test\r\n`);
      }
      await until(() => fds() <= before);
    } finally {
      await srv.stop();
    }
  });

  it('refuses a message over databytes with 552 (control/databytes, DATABYTES wins), advertises SIZE', async () => {
    const home = makeHome({ databytes: '1000\n' });
    const srv = await server(ours('tcpserver'), home);
    const srv2 = await server(ours('tcpserver'), home, { env: { DATABYTES: '20' } });
    try {
      const big = `Subject: big\r\n\r\n${'y'.repeat(2000)}\r\n.\r\n`;
      const out = await converse(srv.port, [`EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n${big}MAIL FROM:<> SIZE=5000\r\nQUIT\r\n`]);
      expect(out).toBe(`${GREETING}250-mx.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 1000\r\n250 ok\r\n250 ok\r\n354 go ahead\r\n552 sorry, that message size exceeds my databytes limit (#5.3.4)\r\n552 sorry, that message size exceeds my databytes limit (#5.3.4)\r\n221 mx.test\r\n`);
      const out2 = await converse(srv2.port, ['MAIL FROM:<>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n12345678901234567890\r\n.\r\nQUIT\r\n']);
      expect(out2).toContain('354 go ahead\r\n552 sorry');
      expect(queued(home)).toEqual([]);
    } finally {
      await srv.stop();
      await srv2.stop();
    }
  });

  it('says 451 timeout to a client that stalls (timeoutsmtpd 1), in a command and in DATA', async () => {
    const home = makeHome({ timeoutsmtpd: '1\n' });
    const srv = await server(ours('tcpserver'), home);
    try {
      const [a, b] = await Promise.all([
        talk(srv.port, 'NOOP\r\nMAIL FR', '127.0.0.1', true),
        talk(srv.port, 'MAIL FROM:<>\r\nRCPT TO:<u@example.com>\r\nDATA\r\nSubject: slow\r\n', '127.0.0.1', true),
      ]);
      expect(a).toBe(`${GREETING}250 ok\r\n451 timeout (#4.4.2)\r\n`);
      expect(b).toBe(`${GREETING}250 ok\r\n250 ok\r\n354 go ahead\r\n451 timeout (#4.4.2)\r\n`);
      expect(queued(home)).toEqual([]);
      await until(() => (srv.log().match(/end \d+ status 256/g) ?? []).length === 2);
    } finally {
      await srv.stop();
    }
  });

  it('answers 421 unable to read controls without me/smtpgreeting; smtpgreeting wins over me', async () => {
    const bare = `${tmpdir('smtpd-')}/qmail`;
    queueCreate(bare);
    mkdirSync(`${bare}/control`);
    const srv = await server(ours('tcpserver'), bare);
    try {
      expect(await talk(srv.port, 'QUIT\r\n')).toBe('421 unable to read controls (#4.3.0)\r\n');
      writeFileSync(`${bare}/control/smtpgreeting`, 'hello there friend  \nsecond line\n');
      writeFileSync(`${bare}/control/me`, 'me.test\n');
      expect(await talk(srv.port, 'HELO a\r\nQUIT\r\n')).toBe('220 hello there friend ESMTP\r\n250 hello there friend\r\n221 hello there friend\r\n');
    } finally {
      await srv.stop();
    }
  });

  it('streams into bin/qmail-queue as a program ($QMAILQUEUE); a cut or oversized message leaves nothing', async () => {
    const home = makeHome({ databytes: '100000\n' });
    const srv = await server(ours('tcpserver'), home, { env: { QMAILQUEUE: ours('qmail-queue') } });
    try {
      const body = 'line of text\r\n'.repeat(5000);
      const out = await converse(srv.port, ['MAIL FROM:<p@b.test>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n', body, '.\r\nQUIT\r\n']);
      expect(out).toMatch(/354 go ahead\r\n250 ok \d+ qp \d+\r\n221 mx\.test\r\n$/);
      const qp = /qp (\d+)/.exec(out)![1];
      let q = queued(home);
      expect(q.length).toBe(1);
      expect(q[0].intd).toBe(`u0\0p${qp}\0Fp@b.test\0Tu@example.com\0`);
      expect(q[0].mess.replace(DATE, 'DATE')).toBe(`Received: (qmail ${qp} invoked by uid 0); DATE\nReceived: from unknown (127.0.0.1)\n  by mx.test with SMTP; DATE\n${'line of text\n'.repeat(5000)}`);
      // cut in DATA
      await converse(srv.port, ['MAIL FROM:<p@b.test>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n', body.slice(0, 30000)]);
      // over databytes
      const big = await converse(srv.port, ['MAIL FROM:<p@b.test>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n', body.repeat(3), '.\r\nQUIT\r\n']);
      expect(big).toContain('354 go ahead\r\n552 sorry, that message size exceeds my databytes limit (#5.3.4)\r\n');
      await until(() => inProgress(home) === 2);
      q = queued(home);
      expect(q.length).toBe(1);
    } finally {
      await srv.stop();
    }
  });

  it('maps qmail-queue exit codes from $QMAILQUEUE to 554/451 as qmail_close()', async () => {
    const home = makeHome();
    const dir = tmpdir('smtpd-qq-');
    const cases: Array<[string, string]> = [
      ['exit 31', '554 mail server permanently rejected message (#5.3.0)'],
      ['exit 71', '451 mail server temporarily rejected message (#4.3.0)'],
      ['exit 53', '451 qq write error or disk full (#4.3.0)'],
      ['printf "Dno thanks (#5.7.1)" >&6; exit 82', '554 no thanks (#5.7.1)'],
      ['printf "Zlater (#4.3.0)" >&6; exit 82', '451 later (#4.3.0)'],
      ['exit 99', '451 qq temporary problem (#4.3.0)'],
      ['cat >/dev/null; cat <&1 >/dev/null; exit 0', '250 ok'],
    ];
    for (const [i, [script, reply]] of cases.entries()) {
      const qq = `${dir}/qq${i}`;
      writeFileSync(qq, `#!/bin/sh\n${script}\n`);
      chmodSync(qq, 0o755);
      const srv = await server(ours('tcpserver'), home, { env: { QMAILQUEUE: qq } });
      try {
        const out = await converse(srv.port, ['MAIL FROM:<>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n.\r\nQUIT\r\n']);
        expect(out.split('\r\n')[4]).toContain(reply);
      } finally {
        await srv.stop();
      }
    }
    const missing = await server(ours('tcpserver'), home, { env: { QMAILQUEUE: `${dir}/nonexistent` } });
    try {
      const out = await converse(missing.port, ['MAIL FROM:<>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n.\r\nQUIT\r\n']);
      expect(out.split('\r\n')[4]).toBe('451 unable to exec qq (#4.3.0)');
    } finally {
      await missing.stop();
    }
    expect(queued(home)).toEqual([]);
  });
});

describe('qmail-smtpd after rblsmtpd, the LWQ chain', () => {
  it('runs in-process behind rblsmtpd under our tcpserver (RBLSMTPD empty: accepted)', async () => {
    const home = makeHome();
    const srv = await startServer(ours('tcpserver'), ['-v', '-H', '-R', '-l', 'mx.test', '127.0.0.1', '0', ours('rblsmtpd'), ours('qmail-smtpd')], { PATH: '/usr/bin:/bin', QMAILHOME: home, RBLSMTPD: '' });
    try {
      const out = await converse(srv.port, ['MAIL FROM:<>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n.\r\nQUIT\r\n']);
      expect(out).toMatch(/^220 mx\.test ESMTP\r\n250 ok\r\n250 ok\r\n354 go ahead\r\n250 ok \d+ qp \d+\r\n221 mx\.test\r\n$/);
      expect(queued(home).length).toBe(1);
      expect(srv.log()).toMatch(/tcpserver: pid 4\d{6,} from 127\.0\.0\.1/);
    } finally {
      await srv.stop();
    }
  });
});

describe.skipIf(!debianTcpserver)("qmail-smtpd as a real process under Debian's tcpserver", () => {
  it('holds the same conversation and queues the same files', async () => {
    const home = makeHome();
    const srv = await server(debianTcpserver!, home);
    try {
      const out = await converse(srv.port, ['EHLO c\r\nMAIL FROM:<s@sender.test>\r\nRCPT TO:<u@example.com>\r\nRCPT TO:<u@elsewhere.test>\r\nDATA\r\nSubject: p\r\n\r\n..x\r\n.\r\nRSET\r\nDATA\r\nQUIT\r\n']);
      expect(out.replace(/ok \d+ qp \d+/, 'ok T qp N')).toBe(
        `${GREETING}250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n250 ok\r\n250 ok\r\n553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)\r\n354 go ahead\r\n250 ok T qp N\r\n250 flushed\r\n503 MAIL first (#5.5.1)\r\n221 mx.test\r\n`,
      );
      const qp = /qp (\d+)/.exec(out)![1];
      const q = queued(home);
      expect(q.length).toBe(1);
      expect(q[0].intd).toBe(`u0\0p${qp}\0Fs@sender.test\0Tu@example.com\0`);
      expect(q[0].mess.replace(DATE, 'DATE')).toBe(`Received: (qmail ${qp} invoked from network); DATE\nReceived: from unknown (HELO c) (127.0.0.1)\n  by mx.test with SMTP; DATE\nSubject: p\n\n.x\n`);
      // a disconnect in DATA and a timeout end the process with exit 1
      await converse(srv.port, ['MAIL FROM:<>\r\nRCPT TO:<u@example.com>\r\nDATA\r\nhalf']);
      await until(() => /end \d+ status 256/.test(srv.log()), 10_000);
      expect(queued(home).length).toBe(1);
    } finally {
      await srv.stop();
    }
  });

  it.skipIf(!swaks)('takes swaks mail with pipelining', async () => {
    const home = makeHome();
    const srv = await server(debianTcpserver!, home);
    try {
      const r = await execa(swaks!, ['--server', `127.0.0.1:${srv.port}`, '--pipeline', '--from', 'a@b.test', '--to', 'u@example.com'], { reject: false });
      expect(r.exitCode).toBe(0);
      expect(queued(home).length).toBe(1);
    } finally {
      await srv.stop();
    }
  });
});
