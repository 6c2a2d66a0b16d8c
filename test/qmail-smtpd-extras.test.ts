/**
 * qmail-smtpd's extensions beyond the original, each behind a control file:
 * STARTTLS (control/servercert.pem) and AUTH PLAIN/LOGIN through a
 * checkpassword program (control/checkpassword), with swaks and Python's
 * smtplib through our tcpserver (in-process) and Debian's (a process); and
 * that without those files nothing is offered and the verbs are 502.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { ours, theirs, tmpdir } from './helpers.ts';
import { startServer, talk, type Running } from './tcphelpers.ts';
import { queueCreate } from '../src/lib/queue/create.ts';

const swaks = theirs('swaks');
const python = theirs('python3');
const openssl = theirs('openssl');
const debianTcpserver = theirs('tcpserver');

function makeHome(controls: Record<string, string>): string {
  const home = `${tmpdir('smtpdx-')}/qmail`;
  queueCreate(home);
  mkdirSync(`${home}/control`);
  for (const [k, v] of Object.entries({ me: 'mx.test\n', rcpthosts: 'example.com\n', ...controls })) writeFileSync(`${home}/control/${k}`, v);
  return home;
}

function server(bin: string, home: string): Promise<Running> {
  return startServer(bin, ['-H', '-R', '-l', 'mx.test', '127.0.0.1', '0', ours('qmail-smtpd')], { PATH: '/usr/bin:/bin', QMAILHOME: home });
}

function todo(home: string): string[] {
  const q = `${home}/queue`;
  return readdirSync(`${q}/todo`).map((id) => readFileSync(`${q}/todo/${id}`, 'latin1').replace(/^u\d+\0p\d+\0/, ''));
}

function mess(home: string): string[] {
  const q = `${home}/queue`;
  return readdirSync(`${q}/todo`).map((id) => readFileSync(`${q}/mess/${Number(id) % 23}/${id}`, 'latin1'));
}

describe('without the control files nothing is offered', () => {
  it('EHLO lists the original three lines; STARTTLS and AUTH are 502', async () => {
    const home = makeHome({});
    const srv = await server(ours('tcpserver'), home);
    try {
      expect(await talk(srv.port, 'EHLO x\r\nSTARTTLS\r\nAUTH PLAIN AGFsaWNlAHMzY3JldA==\r\nQUIT\r\n')).toBe(
        '220 mx.test ESMTP\r\n250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n502 unimplemented (#5.5.1)\r\n502 unimplemented (#5.5.1)\r\n221 mx.test\r\n',
      );
    } finally {
      await srv.stop();
    }
  });
});

describe.skipIf(!openssl)('STARTTLS and AUTH', () => {
  let home: string;
  let ours_: Running;
  beforeAll(async () => {
    const d = tmpdir('smtpdx-cert-');
    await execa(openssl!, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${d}/key.pem`, '-out', `${d}/cert.pem`, '-days', '2', '-subj', '/CN=mx.test']);
    const cp = `${d}/checkpassword`;
    writeFileSync(cp, '#!/bin/sh\ngot=$(tr \'\\0\' \' \' <&3)\ncase "$got" in\n"alice s3cret "*) exec "$@";;\n"tempfail "*) exit 111;;\nesac\nexit 1\n');
    chmodSync(cp, 0o755);
    home = makeHome({
      'servercert.pem': readFileSync(`${d}/cert.pem`, 'latin1') + readFileSync(`${d}/key.pem`, 'latin1'),
      checkpassword: `${cp} /bin/true\n`,
    });
    ours_ = await server(ours('tcpserver'), home);
  });
  afterAll(async () => {
    await ours_?.stop();
  });

  it('advertises STARTTLS and AUTH; AUTH PLAIN/LOGIN answers; good AUTH relays', async () => {
    const out = await talk(
      ours_.port,
      'EHLO x\r\nAUTH PLAIN AGFsaWNlAHdyb25n\r\nAUTH LOGIN\r\nYWxpY2U=\r\nd3Jvbmc=\r\nAUTH PLAIN\r\n*\r\nAUTH PLAIN @@@\r\nAUTH CRAM-MD5\r\nAUTH PLAIN AHRlbXBmYWlsAHg=\r\n' +
        'MAIL FROM:<a@b.test>\r\nRCPT TO:<u@far.test>\r\nAUTH PLAIN AGFsaWNlAHMzY3JldA==\r\nRSET\r\nAUTH PLAIN AGFsaWNlAHMzY3JldA==\r\nAUTH PLAIN AGFsaWNlAHMzY3JldA==\r\nEHLO y\r\n' +
        'MAIL FROM:<a@b.test>\r\nRCPT TO:<u@far.test>\r\nDATA\r\n.\r\nQUIT\r\n',
    );
    expect(out.replace(/ok \d+ qp \d+/, 'ok T qp N')).toBe(
      '220 mx.test ESMTP\r\n250-mx.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-STARTTLS\r\n250 AUTH LOGIN PLAIN\r\n' +
        '535 authorization failed (#5.7.0)\r\n334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n535 authorization failed (#5.7.0)\r\n334 \r\n501 auth exchange cancelled (#5.0.0)\r\n' +
        '501 malformed auth input (#5.5.4)\r\n504 auth type unimplemented (#5.5.1)\r\n454 temporary authentication failure (#4.3.0)\r\n' +
        "250 ok\r\n553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)\r\n503 no auth during mail transaction (#5.5.0)\r\n250 flushed\r\n235 ok, go ahead (#2.0.0)\r\n" +
        "503 you're already authenticated (#5.5.0)\r\n250-mx.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 STARTTLS\r\n" +
        '250 ok\r\n250 ok\r\n354 go ahead\r\n250 ok T qp N\r\n221 mx.test\r\n',
    );
    expect(todo(home)).toContain('Fa@b.test\0Tu@far.test\0');
    expect(mess(home).some((m) => /\n  by mx\.test with ESMTPA; /.test(m))).toBe(true);
  });

  it.skipIf(!swaks)('swaks: STARTTLS then AUTH LOGIN, relayed, Received says ESMTPSA', async () => {
    const r = await execa(swaks!, ['--server', `127.0.0.1:${ours_.port}`, '--tls', '--auth', 'LOGIN', '--auth-user', 'alice', '--auth-password', 's3cret', '--from', 'tls@b.test', '--to', 'v@far.test'], { reject: false });
    expect(r.stdout).toContain('TLS started');
    expect(r.stdout).toContain('<~  235 ok, go ahead (#2.0.0)');
    expect(r.stdout).toMatch(/<~ {2}250 ok \d+ qp \d+/);
    expect(r.exitCode).toBe(0);
    expect(todo(home)).toContain('Ftls@b.test\0Tv@far.test\0');
    expect(mess(home).some((m) => /\n  by mx\.test with ESMTPSA; /.test(m))).toBe(true);
  });

  it.skipIf(!python)('smtplib: starttls, login with PLAIN, send', async () => {
    const script = `
import smtplib, ssl
s = smtplib.SMTP("127.0.0.1", ${ours_.port})
s.ehlo("py")
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
print(s.starttls(context=ctx))
s.ehlo("py")
print(s.has_extn("starttls"), s.has_extn("auth"))
print(s.login("alice", "s3cret"))
print(s.sendmail("py@b.test", ["w@far.test"], b"Subject: tls\\r\\n\\r\\nhi\\r\\n"))
s.quit()
`;
    const r = await execa(python!, ['-c', script], { reject: false });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe("(220, b'ready for tls')\nFalse True\n(235, b'ok, go ahead (#2.0.0)')\n{}");
    expect(todo(home)).toContain('Fpy@b.test\0Tw@far.test\0');
  });

  it.skipIf(!swaks)('SMTPS: TLS before the greeting (swaks --tlsc)', async () => {
    const srv = await startServer(ours('tcpserver'), ['-H', '-R', '-l', 'mx.test', '127.0.0.1', '0', ours('qmail-smtpd')], { PATH: '/usr/bin:/bin', QMAILHOME: home, SMTPS: '1' });
    try {
      const r = await execa(swaks!, ['--server', `127.0.0.1:${srv.port}`, '--tlsc', '--from', 'smtps@b.test', '--to', 'u@example.com'], { reject: false });
      expect(r.stdout).toContain('<~  220 mx.test ESMTP');
      expect(r.stdout).toMatch(/<~ {2}250 ok \d+ qp \d+/);
      expect(r.exitCode).toBe(0);
      expect(mess(home).some((m) => /\n  by mx\.test with ESMTPS; /.test(m))).toBe(true);
    } finally {
      await srv.stop();
    }
  });

  it('drops plaintext pipelined after STARTTLS (no command injection)', async () => {
    const out = await talk(ours_.port, 'EHLO x\r\nSTARTTLS\r\nMAIL FROM:<inject@b.test>\r\n');
    expect(out).toMatch(/250 AUTH LOGIN PLAIN\r\n220 ready for tls\r\n$/);
  });

  it.skipIf(!swaks || !debianTcpserver)("as a real process under Debian's tcpserver: swaks STARTTLS + AUTH PLAIN", async () => {
    const srv = await server(debianTcpserver!, home);
    try {
      const r = await execa(swaks!, ['--server', `127.0.0.1:${srv.port}`, '--tls', '--auth', 'PLAIN', '--auth-user', 'alice', '--auth-password', 's3cret', '--from', 'proc@b.test', '--to', 'x@far.test'], { reject: false });
      expect(r.stdout).toContain('<~  235 ok, go ahead (#2.0.0)');
      expect(r.exitCode).toBe(0);
      expect(todo(home)).toContain('Fproc@b.test\0Tx@far.test\0');
    } finally {
      await srv.stop();
    }
  });
});

describe('recipient validation (control/rcptcheck)', () => {
  it('refuses local and virtual recipients without a mailbox, accepts the rest', async () => {
    const joe = tmpdir('smtpdx-joe-');
    writeFileSync(`${joe}/.qmail-list`, './Maildir/\n');
    writeFileSync(`${joe}/.qmail-sub-default`, './Maildir/\n');
    const home = makeHome({ rcptcheck: '', rcpthosts: 'mx.test\nvirt.test\nexample.com\n', virtualdomains: 'virt.test:joe\n' });
    mkdirSync(`${home}/users`);
    writeFileSync(`${home}/users/assign`, `=joe:joe:1000:1000:${joe}:::\n+joe-:joe:1000:1000:${joe}:-::\n+:joe:1000:1000:${joe}:-:none-:\n.\n`);
    const r = await execa(ours('qmail-newu'), [], { env: { QMAILHOME: home }, reject: false });
    expect(r.stderr).toBe('');
    const srv = await server(ours('tcpserver'), home);
    try {
      const rcpts = ['joe@mx.test', 'joe-list@MX.TEST', 'joe-sub-x@mx.test', 'joe-nope@mx.test', 'nobody@mx.test', 'list@virt.test', 'other@virt.test', 'joe', 'u@example.com'];
      const out = await talk(srv.port, `MAIL FROM:<>\r\n${rcpts.map((a) => `RCPT TO:<${a}>\r\n`).join('')}QUIT\r\n`);
      const no = '550 sorry, no mailbox here by that name (#5.1.1)';
      expect(out.split('\r\n').slice(2, 2 + rcpts.length)).toEqual(['250 ok', '250 ok', '250 ok', no, no, '250 ok', no, '250 ok', '250 ok']);
    } finally {
      await srv.stop();
    }
  });
});
