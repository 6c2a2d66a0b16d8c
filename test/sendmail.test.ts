/**
 * sendmail (qmail's wrapper): option mapping onto qmail-inject as
 * notqmail's sendmail.c does it (sendmailPlan, the library), and the
 * program end to end through $QMAILQUEUE: -t, -f, -F, ignored options,
 * -bp (qmail-qread), -bs (qmail-smtpd environment), usage.
 */
import { describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { ours, tmpdir } from './helpers.ts';
import { sendmailPlan, SENDMAIL_USAGE } from '../src/lib/inject/sendmail.ts';
import { queueCreate } from '../src/lib/queue/create.ts';

describe('sendmailPlan', () => {
  const plan = (...a: string[]) => sendmailPlan(['sendmail', ...a], { NAME: 'n', MAILHOST: 'mh', PATH: '/bin' });
  it('recipients as arguments (-a), -t gives -H', () => {
    expect(plan('a@b', 'c')).toEqual({ kind: 'inject', argv: ['qmail-inject', '-a', '--', 'a@b', 'c'], env: { NAME: 'n', MAILHOST: 'mh', PATH: '/bin' } });
    expect(plan('-t')).toMatchObject({ argv: ['qmail-inject', '-H', '--'] });
    expect(plan('-t', '--', '-x')).toMatchObject({ argv: ['qmail-inject', '-H', '--', '-x'] });
  });
  it('-f sets the sender and QMAILUSER/QMAILHOST, dropping the name and host variables', () => {
    expect(plan('-f', 'me@x.y', 'r')).toEqual({ kind: 'inject', argv: ['qmail-inject', '-a', '-f', 'me@x.y', '--', 'r'], env: { PATH: '/bin', QMAILUSER: 'me', QMAILHOST: 'x.y' } });
    expect(plan('-fme', '-FFull Name')).toEqual({ kind: 'inject', argv: ['qmail-inject', '-a', '-f', 'me', '--'], env: { PATH: '/bin', QMAILUSER: 'me' } });
    expect(plan('-F', 'Full Name')).toMatchObject({ env: { MAILNAME: 'Full Name', NAME: 'n' } });
    expect(plan('-f', 'a@b@c')).toMatchObject({ env: { QMAILUSER: 'a@b', QMAILHOST: 'c' } });
  });
  it('ignores -oi -oem -odb -i -v -x -m -bm -B x -p x -e x and -E/-J with attached text', () => {
    expect(plan('-oi', '-oem', '-odb', '-i', '-v', '-x', '-m', '-bm', '-B', '8BITMIME', '-p', 'smtp:x', '-e', 'q', '-Ejunk', '-J', 'r')).toMatchObject({ argv: ['qmail-inject', '-a', '--', 'r'] });
    expect(plan('-it', 'r')).toMatchObject({ argv: ['qmail-inject', '-H', '--', 'r'] });
  });
  it('-bp and mailq: qmail-qread; -bs: qmail-smtpd with a local session environment unless PROTO is set', () => {
    expect(plan('-bp')).toEqual({ kind: 'qread' });
    expect(sendmailPlan(['/usr/bin/mailq'], {})).toEqual({ kind: 'qread' });
    expect(plan('-bs')).toEqual({
      kind: 'smtpd',
      env: { NAME: 'n', MAILHOST: 'mh', PATH: '/bin', RELAYCLIENT: '', DATABYTES: '0', PROTO: 'TCP', TCPLOCALIP: '127.0.0.1', TCPLOCALHOST: 'localhost', TCPREMOTEIP: '127.0.0.1', TCPREMOTEHOST: 'localhost', TCPREMOTEINFO: 'sendmail-bs' },
    });
    expect(sendmailPlan(['sendmail', '-bs'], { PROTO: 'X' })).toEqual({ kind: 'smtpd', env: { PROTO: 'X' } });
  });
  it('usage: unknown option, -b with another mode, newaliases', () => {
    expect(plan('-bz')).toEqual({ kind: 'fail', status: 100, message: SENDMAIL_USAGE });
    expect(sendmailPlan(['newaliases'], {})).toEqual({ kind: 'fail', status: 100, message: 'sendmail: fatal: please use fastforward/newaliases instead' });
  });
});

describe('sendmail program', () => {
  const setup = () => {
    const h = tmpdir('qsm-');
    mkdirSync(`${h}/control`);
    writeFileSync(`${h}/control/me`, 'me.example\n');
    const qq = `${h}/qq`;
    writeFileSync(qq, `#!/bin/sh\ncat > ${h}/msg\ncat 0<&1 1>${h}/env\n`);
    chmodSync(qq, 0o755);
    return { h, env: { QMAILHOME: h, USER: 'u', QMAILQUEUE: qq } };
  };
  const run = (env: Record<string, string>, args: string[], input = '') => execa(ours('sendmail'), args, { input, env, extendEnv: false, reject: false });
  it('-t -f -F -oi: header recipients, envelope sender, From from -f', async () => {
    const { h, env } = setup();
    const r = await run(env, ['-t', '-oi', '-F', 'Ignored Name', '-f', 'bounce@b.example'], 'To: a@x.example\nSubject: s\n\nhi\n');
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
    expect(readFileSync(`${h}/env`, 'latin1')).toBe('Fbounce@b.example\0Ta@x.example\0\0');
    expect(readFileSync(`${h}/msg`, 'latin1')).toMatch(/\nFrom: bounce@b\.example\nTo: a@x\.example\nSubject: s\n\nhi\n$/);
  });
  it('-F sets the personal name; arguments are the recipients, the header\'s are not', async () => {
    const { h, env } = setup();
    const r = await run(env, ['-FJoe User', 'r@y.example'], 'To: a@x.example\n\nhi\n');
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
    expect(readFileSync(`${h}/env`, 'latin1')).toBe('Fu@me.example\0Tr@y.example\0\0');
    expect(readFileSync(`${h}/msg`, 'latin1')).toContain('\nFrom: "Joe User" <u@me.example>\n');
  });
  it('-bp runs qmail-qread on the queue', async () => {
    const { h, env } = setup();
    queueCreate(h, 1);
    writeFileSync(`${h}/queue/mess/0/7`, 'xyz');
    writeFileSync(`${h}/queue/info/0/7`, 'Fs@x\0');
    writeFileSync(`${h}/queue/local/0/7`, 'Tl@y\0');
    const r = await run(env, ['-bp']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^\d+ \w{3} \d{4} \d\d:\d\d:\d\d GMT  #7  3  <s@x> \n\tlocal\tl@y$/);
  });
  it('-bs runs qmail-smtpd on stdin/stdout', async () => {
    const { env } = setup();
    const r = await run(env, ['-bs'], 'HELO x\r\nQUIT\r\n');
    expect([r.exitCode, r.stdout]).toEqual([0, '220 me.example ESMTP\r\n250 me.example\r\n221 me.example']);
  });
  it('usage and a missing qmail home', async () => {
    const { env } = setup();
    let r = await run(env, ['-q']);
    expect([r.exitCode, r.stderr]).toEqual([100, 'sendmail: illegal option -- q\n' + SENDMAIL_USAGE]);
    r = await run({ ...env, QMAILHOME: '/nonexistent' }, ['x']);
    expect([r.exitCode, r.stderr]).toEqual([111, 'sendmail: fatal: unable to switch to qmail home directory']);
  });
});
