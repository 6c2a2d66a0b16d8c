/**
 * POP3 end to end: real clients (Python's poplib, fetchmail) talk to
 * `tcpserver ... qmail-popup HOST checkpassword qmail-pop3d Maildir` (ours
 * and Debian's tcpserver) and fetch, leave and delete messages delivered
 * with src/lib/deliver/maildir.ts; what they store is the delivered bytes
 * plus the blank line qmail-pop3d(8) documents. Bad input: wrong password,
 * unknown user, commands before authorization, a client that drops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { execa } from 'execa';
import { isRoot, ours, theirs, tmpdir, until } from './helpers.ts';
import { startServer, type Running } from './tcphelpers.ts';
import { NOBODY, accountCmd, addUser, asFetched, deliver, listing, makeHome, poplib, popEnv } from './pop3helpers.ts';

const MESSAGES = [
  Buffer.from('Return-Path: <a@example.org>\nSubject: one\n\nfirst line\n.leading dot\n.\n..\nlast\n'),
  Buffer.from('Subject: two\r\nX-CRLF: stored as is\r\n\r\nbody\r\n'),
  Buffer.concat([Buffer.from('Subject: three\n\n'), Buffer.from(Array.from({ length: 200000 }, (_, i) => (i % 61 === 60 || i === 199999 ? 10 : 32 + (i % 223))))]),
];

const RETR_ALL = `
n, size = p.stat()
out.append([n, size])
out.append(s(p.uidl()[1]))
for i in range(1, n + 1):
    out.append(s(b''.join(l + b'\\n' for l in p.retr(i)[1])))
out.append(s(p.quit()))
`;

const debian = theirs('tcpserver');

describe.each([
  ['our tcpserver', ours('tcpserver')],
  ["Debian's tcpserver", debian],
])('poplib through %s', (_name, bin) => {
  it.skipIf(!bin)('retrieves byte-identical messages, leaves them, then deletes them', async () => {
    const h = makeHome();
    const names = await deliver(h.maildir, MESSAGES);
    await addUser(h.passfile, 'alice', 'pw with spaces: ok', h.home);
    const srv = await startServer(bin!, ['-R', '-H', '-l0', '127.0.0.1', '0', 'qmail-popup', 'pop.example', 'checkpassword', 'qmail-pop3d', 'Maildir'], popEnv(h.passfile));
    try {
      const out = await poplib(srv.port, 'alice', 'pw with spaces: ok', RETR_ALL);
      expect(out[0]).toMatch(/^\+OK <\d+\.\d+@pop\.example>$/);
      expect(out[1]).toEqual([3, MESSAGES.reduce((a, m) => a + m.length, 0)]);
      const uids = names.map((n) => n.slice(4));
      expect(out[2]).toEqual(uids.map((u, i) => `${i + 1} ${u}`));
      expect(out.slice(3, 6)).toEqual(MESSAGES.map((m) => asFetched(m).toString('latin1')));
      expect(out[6]).toBe('+OK ');
      // left on the server: moved to cur/ with the info `:2,`, contents unchanged
      expect(listing(h.maildir)).toEqual(uids.map((u) => `cur/${u}:2,`).sort());
      for (const [i, u] of uids.entries()) expect(readFileSync(`${h.maildir}/cur/${u}:2,`)).toEqual(MESSAGES[i]);
      // second session: same UIDs; delete two, one survives
      const out2 = await poplib(srv.port, 'alice', 'pw with spaces: ok', `
out.append(s(p.uidl()[1]))
out.append(s(p.dele(1))); out.append(s(p.dele(3)))
out.append(s(p.stat()))
out.append(s(p.quit()))`);
      expect(out2.slice(1)).toEqual([uids.map((u, i) => `${i + 1} ${u}`), '+OK ', '+OK ', [3, MESSAGES[1].length], '+OK ']);
      expect(listing(h.maildir)).toEqual([`cur/${uids[1]}:2,`]);
    } finally {
      await srv.stop();
    }
  });
});

describe('POP3 bad input through our tcpserver', () => {
  let h: ReturnType<typeof makeHome>;
  let srv: Running;
  beforeAll(async () => {
    h = makeHome();
    await deliver(h.maildir, MESSAGES.slice(0, 2));
    await addUser(h.passfile, 'bob', 'right', h.home);
    srv = await startServer(ours('tcpserver'), ['-R', '-H', '-l0', '127.0.0.1', '0', 'qmail-popup', 'pop.example', 'checkpassword', 'qmail-pop3d', 'Maildir'], popEnv(h.passfile));
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('refuses a wrong password and an unknown user with -ERR authorization failed', async () => {
    const [a, b] = await Promise.all([poplib(srv.port, 'bob', 'wrong', ''), poplib(srv.port, 'nobody-here', 'right', '')]);
    expect(a[1]).toBe('error: -ERR authorization failed');
    expect(b[1]).toBe('error: -ERR authorization failed');
  });

  it('answers commands before authorization as qmail-popup does', async () => {
    const out = await poplib(
      srv.port,
      '',
      '',
      `
for c in ['STAT', 'RETR 1', 'PASS x', 'USER', 'APOP bob', 'noop', 'XTND ' + 'x' * 3000]:
    p._putcmd(c)
    try:
        out.append(s(p._getresp()))
    except poplib.error_proto as e:
        out.append(s(e.args[0]))
out.append(s(p.capa()))
out.append(s(p.quit()))`,
      false,
    );
    expect(out.slice(1)).toEqual([
      '-ERR authorization first',
      '-ERR authorization first',
      '-ERR USER first',
      '-ERR syntax error',
      '-ERR syntax error',
      '+OK ',
      '-ERR line too long',
      { TOP: [], UIDL: [], USER: [], IMPLEMENTATION: ['qmail-ts'] },
      '+OK ',
    ]);
  });

  it('loses and deletes nothing when the client drops mid-session', async () => {
    const before = listing(h.maildir);
    await new Promise<void>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: srv.port });
      let got = '';
      const steps = ['USER bob\r\n', 'PASS right\r\n', 'DELE 1\r\n', 'RETR 2\r\n'];
      let expectReplies = 1;
      s.on('data', (b) => {
        got += b.toString('latin1');
        const replies = (got.match(/^[+-](OK|ERR)/gm) ?? []).length;
        if (replies >= expectReplies && steps.length > 0) {
          s.write(steps.shift()!);
          expectReplies++;
        } else if (steps.length === 0 && got.includes('\r\n.\r\n')) {
          expect(got).toContain('+OK \r\nSubject: two\r\r\n');
          s.destroy();
          resolve();
        }
      });
      s.on('error', reject);
    });
    await until(() => !/status: [1-9]/.test(srv.log().split('\n').filter((l) => l.includes('status:')).pop() ?? ''));
    expect(listing(h.maildir)).toEqual(before);
  });
});

const fetchmail = theirs('fetchmail');

describe('fetchmail', () => {
  // fetchmail itself turns a stored CRLF into LF for its MDA, so only LF messages here
  const LF = [MESSAGES[0], MESSAGES[2]];
  it.skipIf(!fetchmail)('keeps, then fetches and deletes; stores what was delivered', async () => {
    const h = makeHome();
    const names = await deliver(h.maildir, LF);
    await addUser(h.passfile, 'carol', 'fm-secret', h.home);
    const srv = await startServer(ours('tcpserver'), ['-R', '-H', '-l0', '127.0.0.1', '0', 'qmail-popup', 'pop.example', 'checkpassword', 'qmail-pop3d', 'Maildir'], popEnv(h.passfile));
    const fm = tmpdir('fetchmail-');
    const run = async (keep: boolean, out: string): Promise<Buffer[]> => {
      mkdirSync(out);
      writeFileSync(`${fm}/mda`, `#!/bin/sh\nn=$(ls ${out} | wc -l)\ncat > ${out}/$(printf %03d $n)\n`, { mode: 0o755 });
      writeFileSync(
        `${fm}/rc`,
        `set no bouncemail\npoll 127.0.0.1 with proto POP3 port ${srv.port} auth password\n  user "carol" there with password "fm-secret" is root here sslproto '' options fetchall ${keep ? 'keep' : 'no keep'} no rewrite mda "${fm}/mda"\n`,
      );
      chmodSync(`${fm}/rc`, 0o600);
      const r = await execa(fetchmail!, ['-f', `${fm}/rc`, '--invisible', '--nosyslog', '--nodetach'], { env: { HOME: fm, PATH: '/usr/bin:/bin' }, reject: false });
      expect(r.exitCode, r.stderr).toBe(0);
      return readdirSync(out).sort().map((f) => readFileSync(`${out}/${f}`));
    };
    try {
      expect(await run(true, `${fm}/1`)).toEqual(LF.map(asFetched));
      expect(listing(h.maildir)).toEqual(names.map((n) => `cur/${n.slice(4)}:2,`).sort());
      expect(await run(false, `${fm}/2`)).toEqual(LF.map(asFetched));
      expect(listing(h.maildir)).toEqual([]);
    } finally {
      await srv.stop();
    }
  });
});

describe.skipIf(!isRoot)('a system account (root)', () => {
  const name = `qmtpopd${process.pid % 100000}`;
  let made = false;
  afterAll(async () => {
    if (made) await accountCmd('userdel', [name]).catch(() => {});
  });

  it('logs in with the /etc/shadow password and reads the Maildir in its home as that user', async () => {
    const h = makeHome();
    await accountCmd('useradd', ['-M', '-d', h.home, '-s', '/bin/sh', name]);
    made = true;
    await accountCmd('chpasswd', ['-c', 'YESCRYPT'], `${name}:sys pw\n`);
    const uid = Number((await execa('id', ['-u', name])).stdout);
    await execa('chown', ['-R', `${uid}`, h.home]);
    await deliver(h.maildir, [MESSAGES[0]]);
    await execa('chown', ['-R', `${uid}`, h.home]);
    const srv = await startServer(ours('tcpserver'), ['-R', '-H', '-l0', '127.0.0.1', '0', 'qmail-popup', 'pop.example', 'checkpassword', 'qmail-pop3d', 'Maildir'], popEnv(`${h.dir}/none`));
    try {
      const out = await poplib(srv.port, name, 'sys pw', `
out.append(s(b''.join(l + b'\\n' for l in p.retr(1)[1])))
out.append(s(p.dele(1)))
out.append(s(p.quit()))`);
      expect(out.slice(1)).toEqual([asFetched(MESSAGES[0]).toString('latin1'), '+OK ', '+OK ']);
      expect(listing(h.maildir)).toEqual([]);
    } finally {
      await srv.stop();
    }
  });
});

describe.skipIf(!isRoot)('the embedded setup: everything runs as one unprivileged user (nobody)', () => {
  it('checkpassword takes entries without uid/gid and runs qmail-pop3d as that same user', async () => {
    const h = makeHome();
    const names = await deliver(h.maildir, [MESSAGES[1]]);
    const etc = `${h.dir}/etc`;
    mkdirSync(etc);
    chownSync(etc, NOBODY, NOBODY);
    const env = { POPPASSWD: `${etc}/poppasswd`, PATH: popEnv('').PATH };
    await execa(ours('setuidgid'), ['nobody', ours('qmail-poppass'), 'frank', h.home], { input: 'emb\n', env });
    expect(readFileSync(`${etc}/poppasswd`, 'latin1')).toMatch(/^frank:scrypt\$[^:]+:::/);
    // LWQ's absolute path for the check program
    const srv = await startServer(ours('setuidgid'), ['-R', '-H', '-l0', '127.0.0.1', '0', 'qmail-popup', 'pop.example', ours('checkpassword'), 'qmail-pop3d', 'Maildir'], env, ['nobody', ours('tcpserver')]);
    try {
      const bad = await poplib(srv.port, 'frank', 'wrong', '');
      expect(bad[1]).toBe('error: -ERR authorization failed');
      const out = await poplib(srv.port, 'frank', 'emb', `
out.append(s(p.uidl()[1]))
out.append(s(b''.join(l + b'\\n' for l in p.retr(1)[1])))
out.append(s(p.quit()))`);
      expect(out.slice(1)).toEqual([[`1 ${names[0].slice(4)}`], asFetched(MESSAGES[1]).toString('latin1'), '+OK ']);
      expect(listing(h.maildir)).toEqual([`cur/${names[0].slice(4)}:2,`]);
    } finally {
      await srv.stop();
    }
  });
});
