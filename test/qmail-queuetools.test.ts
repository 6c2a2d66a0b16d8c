/**
 * qmail-qstat, qmail-qread, qmail-showctl, maildirmake: output on crafted
 * queues/control directories compared with golden text written from the man
 * pages and the originals' output strings.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { ours, tmpdir } from './helpers.ts';
import { queueCreate } from '../src/lib/queue/create.ts';
import { channelRecord, infoRecord, parseChannelFile, parseInfo } from '../src/lib/queue/records.ts';

/** A queue with three preprocessed messages in three split subdirectories and one in todo. */
function craftedQueue(): string {
  const h = `${tmpdir()}/qmail`;
  queueCreate(h, 23);
  const q = `${h}/queue`;
  const put = (p: string, data: string | Buffer, mtime?: number) => {
    writeFileSync(`${q}/${p}`, data);
    if (mtime !== undefined) utimesSync(`${q}/${p}`, mtime, mtime);
  };
  // #5: info/5, two local recipients (one done), one remote
  put('mess/5/5', 'x'.repeat(100));
  put('info/5/5', 'Fgod@heaven.af.mil\0', 812090814);
  put('local/5/5', 'Tdjb@silverton.berkeley.edu\0Ddone@x\0');
  put('remote/5/5', 'Tr@remote.example\0');
  // #29 (29 % 23 = 6): bounce sender, bouncing, odd byte in an address, a partial record
  put('mess/6/29', 'seven!!');
  put('info/6/29', 'F\0', 820631134);
  put('remote/6/29', Buffer.from('Ta\x01b@x\0Xignored\0Tpartial'));
  put('bounce/29', 'x');
  // #53 (53 % 23 = 7): preprocessed but mess/ is gone
  put('info/7/53', 'Fz@z\0', 820631134);
  put('info/7/notanumber', 'F\0');
  put('todo/77', 'u0\0p1\0F\0Tq@q\0');
  return h;
}

describe('qmail-qstat', () => {
  it('counts mess/* and todo files', async () => {
    const h = craftedQueue();
    const r = await execa(ours('qmail-qstat'), { env: { QMAILHOME: h } });
    expect(r.stdout + '\n').toBe('messages in queue: 2\nmessages in queue but not yet preprocessed: 1\n');
    const e = await execa(ours('qmail-qstat'), { env: { QMAILHOME: `${h}/nope` }, reject: false });
    expect(e.stdout).toBe('messages in queue: 0\nmessages in queue but not yet preprocessed: 0');
    expect(e.stderr).toMatch(/^qmail-qstat: warning: unable to read .*\/nope\/queue\/mess: file does not exist$/m);
  });
});

describe('qmail-qread', () => {
  it('prints qmail-qread(8)\'s listing byte for byte', async () => {
    const h = craftedQueue();
    const r = await execa(ours('qmail-qread'), { env: { QMAILHOME: h }, stripFinalNewline: false });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(
      '26 Sep 1995 04:46:54 GMT  #5  100  <god@heaven.af.mil> \n' +
        '\tlocal\tdjb@silverton.berkeley.edu\n' +
        '  done\tlocal\tdone@x\n' +
        '\tremote\tr@remote.example\n' +
        '3 Jan 1996 01:05:34 GMT  #29  7  <>  bouncing\n' +
        '\tremote\ta_b@x\n' +
        'warning: trouble with #53: file does not exist\n',
    );
    expect(r.stderr).toBe('');
  });

  it('dies with fatal: on stdout when the queue is missing', async () => {
    const r = await execa(ours('qmail-qread'), { env: { QMAILHOME: `${tmpdir()}/none` }, reject: false });
    expect([r.exitCode, r.stdout]).toEqual([111, 'fatal: unable to chdir: file does not exist']);
  });
});

describe('qmail-showctl', () => {
  it('explains every control file in the original\'s words', async () => {
    const h = `${tmpdir()}/qmail`;
    mkdirSync(`${h}/control`, { recursive: true });
    const c = (n: string, t: string) => writeFileSync(`${h}/control/${n}`, t);
    c('me', 'mail.example.com\n');
    c('locals', 'example.com\n# c\nlocalhost\n');
    c('rcpthosts', 'example.com\n');
    c('concurrencyremote', '55\n');
    c('databytes', 'junk\n');
    c('smtpgreeting', 'hello\x01there\n');
    c('virtualdomains', 'v.example:alice\n');
    c('morercpthosts', 'm.example\n');
    c('weird', '');
    const r = await execa(ours('qmail-showctl'), { env: { QMAILHOME: h }, stripFinalNewline: false });
    expect(r.exitCode).toBe(0);
    const head = r.stdout.slice(0, r.stdout.indexOf('\nbadmailfrom'));
    expect(head).toMatch(
      new RegExp(`^qmail home directory: ${h}\\.\\nuser-ext delimiter: -\\.\\npaternalism \\(in decimal\\): 2\\.\\nsilent concurrency limit: 120\\.\\nsubdirectory split: 23\\.\\nuser ids: [0-9?]+(, [0-9?]+){7}\\.\\ngroup ids: [0-9?]+, [0-9?]+\\.\\n$`),
    );
    expect(r.stdout.slice(head.length)).toBe(
      `
badmailfrom: (Default.) Any MAIL FROM is allowed.

bouncefrom: (Default.) Bounce user name is MAILER-DAEMON.

bouncehost: (Default.) Bounce host name is mail.example.com.

concurrencylocal: (Default.) Local concurrency is 10.

concurrencyremote: Remote concurrency is 55.

databytes: (Default.) SMTP DATA limit is 0 bytes.

defaultdomain: (Default.) Default domain name is mail.example.com.

defaulthost: (Default.) Default host name is mail.example.com.

doublebouncehost: (Default.) 2B recipient host: mail.example.com.

doublebounceto: (Default.) 2B recipient user: postmaster.

envnoathost: (Default.) Presumed domain name is mail.example.com.

helohost: (Default.) SMTP client HELO host name is mail.example.com.

idhost: (Default.) Message-ID host name is mail.example.com.

localiphost: (Default.) Local IP address becomes mail.example.com.

locals: 
Messages for example.com are delivered locally.
Messages for localhost are delivered locally.

me: My name is mail.example.com.

percenthack: (Default.) The percent hack is not allowed.

plusdomain: (Default.) Plus domain name is mail.example.com.

qmqpservers: (Default.) No QMQP servers.

queuelifetime: (Default.) Message lifetime in the queue is 604800 seconds.

rcpthosts: 
SMTP clients may send messages to recipients at example.com.

morercpthosts: 
SMTP clients may send messages to recipients at m.example.

morercpthosts.cdb: Oops! morercpthosts exists but morercpthosts.cdb doesn't.

smtpgreeting: SMTP greeting: 220 hello?there.

smtproutes: (Default.) No artificial SMTP routes.

timeoutconnect: (Default.) SMTP client connection timeout is 60 seconds.

timeoutremote: (Default.) SMTP client data timeout is 1200 seconds.

timeoutsmtpd: (Default.) SMTP server data timeout is 1200 seconds.

virtualdomains: 
Virtual domain: v.example:alice

weird: I have no idea what this file does.
`,
    );
  });

  it('says undefined! Uh-oh without me, and Oops without a control directory', async () => {
    const h = `${tmpdir()}/qmail`;
    mkdirSync(`${h}/control`, { recursive: true });
    const r = await execa(ours('qmail-showctl'), { env: { QMAILHOME: h } });
    expect(r.stdout).toContain('\nbouncehost: (Default.) Bounce host name is bouncehost.\n');
    expect(r.stdout).toContain('\nme: (Default.) My name is undefined! Uh-oh.\n');
    expect(r.stdout).toContain('\nrcpthosts: (Default.) SMTP clients may send messages to any recipient.\n\nmorercpthosts: (Default.) No rcpthosts; morercpthosts is irrelevant.\n');
    const n = await execa(ours('qmail-showctl'), { env: { QMAILHOME: `${h}/x` }, reject: false });
    expect(n.exitCode).toBe(111);
    expect(n.stdout.endsWith(`Oops! Unable to chdir to ${h}/x.`)).toBe(true);
  });
});

describe('maildirmake', () => {
  it('makes dir/{tmp,new,cur} 0700 and fails like the original', async () => {
    const d = tmpdir();
    expect((await execa(ours('maildirmake'), ['Maildir'], { cwd: d })).exitCode).toBe(0);
    expect(readdirSync(`${d}/Maildir`).sort()).toEqual(['cur', 'new', 'tmp']);
    for (const s of ['', '/tmp', '/new', '/cur']) expect((statSync(`${d}/Maildir${s}`).mode & 0o777).toString(8)).toBe('700');
    const again = await execa(ours('maildirmake'), ['Maildir'], { cwd: d, reject: false });
    expect([again.exitCode, again.stderr]).toEqual([111, 'maildirmake: fatal: unable to mkdir Maildir: file already exists']);
    const u = await execa(ours('maildirmake'), [], { reject: false });
    expect([u.exitCode, u.stderr]).toEqual([100, 'maildirmake: usage: maildirmake name']);
    const deep = await execa(ours('maildirmake'), ['no/such'], { cwd: d, reject: false });
    expect([deep.exitCode, deep.stderr]).toEqual([111, 'maildirmake: fatal: unable to mkdir no/such: file does not exist']);
  });
});

describe('queue records', () => {
  it('parses local/remote records with their positions, skipping junk and an unterminated tail', () => {
    const b = Buffer.concat([channelRecord(Buffer.from('a@x')), Buffer.from('Db@y\0\0Xz\0T\0Tpartial')]);
    expect(parseChannelFile(b).map((r) => [r.done, r.addr.toString(), r.pos])).toEqual([
      [false, 'a@x', 0],
      [true, 'b@y', 5],
      [false, '', 14],
    ]);
    expect(parseInfo(infoRecord(Buffer.from('s@x'))).toString()).toBe('s@x');
    expect(parseInfo(Buffer.from('F')).toString()).toBe('');
    expect(parseInfo(Buffer.alloc(0)).toString()).toBe('');
  });
});
