/**
 * qmail-queued, the queue-injection service that replaces qmail's setuid
 * qmail-queue: a queue owned by a throw-away qmailq-like user (useradd here,
 * userdel after), the service running as that user, and clients running as
 * `nobody`: bin/qmail-queue and submitMessage() queue through the socket,
 * the files belong to the queue's owner and the Received line and intd name
 * the CLIENT's uid and pid (byte for byte); a client killed mid-message or a
 * connection dropped mid-message leaves nothing; what a client claims about
 * itself is ignored. Then the system-install tree of `qmailctl setup` under
 * svscan: qmail-smtpd running as nobody takes a message in through the
 * supervised service. Needs root (skips with the reason otherwise).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { NODE, ROOT, isRoot, ours, tmpdir, until, freePort, smtpReplies } from './helpers.ts';
import { queueCreate } from '../src/lib/queue/create.ts';
import { date822fmt } from '../src/lib/qmaildate.ts';
import { getpwnam } from '../src/lib/passwd.ts';
import { qmailIds } from '../src/lib/qmailids.ts';
import { startQueued } from '../src/lib/queue/queued.ts';
import { submitViaSocket } from '../src/lib/queue/socket.ts';

const NEEDED = ['qmail-queued', 'qmail-queue', 'setuidgid', 'svscan', 'supervise', 'svc', 'svstat', 'multilog', 'tcpserver', 'tcprules', 'softlimit', 'qmail-smtpd', 'qmail-qstat', 'qmail-start', 'qmail-send', 'qmail-lspawn', 'qmail-local', 'qmail-newu'];
const missing = NEEDED.filter((n) => !existsSync(ours(n)));
const nobodyBlocked = isRoot && ((): boolean => {
  for (let d = ROOT; d !== ''; d = d.slice(0, d.lastIndexOf('/'))) if ((statSync(d).mode & 0o001) === 0) return true;
  return false;
})();
const skip = !isRoot ? 'the service tests need root (setuidgid, useradd)' : nobodyBlocked ? 'nobody cannot reach the checkout' : missing.length > 0 ? `not built: ${missing.join(', ')}` : '';
if (skip) console.warn(`qmail-queued tests skipped: ${skip}`);

const NOBODY = 65534;

/** The queue's files, for before/after comparisons. */
function files(q: string, d: string): string[] {
  const out: string[] = [];
  const walk = (p: string, rel: string): void => {
    for (const e of readdirSync(p, { withFileTypes: true })) {
      if (e.isDirectory()) walk(`${p}/${e.name}`, `${rel}${e.name}/`);
      else out.push(`${rel}${e.name}`);
    }
  };
  walk(`${q}/${d}`, '');
  return out.sort();
}

/** Exit code of a child. */
function exited(c: ChildProcess): Promise<number | null> {
  return new Promise((res) => c.on('close', (code) => res(code)));
}

describe.skipIf(skip !== '')('qmail-queued: clients as nobody, the queue owned by another user', () => {
  const user = `qmqt${process.pid % 100000}`;
  const top = tmpdir('qqd-');
  chmodSync(top, 0o755);
  const home = `${top}/qmail`;
  const q = `${home}/queue`;
  let uid = 0;
  let daemon: ChildProcess | undefined;

  beforeAll(async () => {
    await execa('useradd', ['-r', '-M', '-d', home, '-s', '/bin/false', user]);
    const pw = getpwnam(user)!;
    uid = pw.uid;
    const none = { alias: undefined, qmaild: undefined, qmaill: undefined, root: 0, qmailp: undefined };
    queueCreate(home, 23, { ids: { users: { ...none, qmailq: pw.uid, qmailr: pw.uid, qmails: pw.uid }, groups: { qmail: pw.gid, nofiles: undefined } } });
    mkdirSync(`${home}/qmail-queued`, { mode: 0o755 });
    chownSync(`${home}/qmail-queued`, pw.uid, pw.gid);
    daemon = spawn(ours('setuidgid'), [user, ours('qmail-queued')], { env: { PATH: process.env.PATH, QMAILHOME: home }, stdio: ['ignore', 'inherit', 'inherit'] });
    await until(() => existsSync(`${home}/qmail-queued/socket`), 10000);
  }, 30000);

  afterAll(async () => {
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await exited(daemon);
    }
    await execa('userdel', [user], { reject: false });
  });

  /** Run bin/qmail-queue as nobody with the message on fd 0 and the envelope on fd 1. */
  async function qmailQueue(message: string, envelope: string): Promise<{ code: number | null; pid: number; t0: number; t1: number }> {
    writeFileSync(`${top}/m`, message, 'latin1');
    writeFileSync(`${top}/e`, envelope, 'latin1');
    const m = openSync(`${top}/m`, 'r');
    const e = openSync(`${top}/e`, 'r');
    const t0 = Math.floor(Date.now() / 1000);
    const c = spawn(ours('setuidgid'), ['nobody', ours('qmail-queue')], { env: { PATH: process.env.PATH, QMAILHOME: home }, stdio: [m, e, 'inherit'] });
    closeSync(m);
    closeSync(e);
    const code = await exited(c);
    return { code, pid: c.pid!, t0, t1: Math.floor(Date.now() / 1000) };
  }

  /** The one message queued since `before` (todo names): its mess and intd bytes and owner. */
  function newMessage(before: string[]): { id: string; mess: Buffer; todo: Buffer; owner: number } {
    const now = files(q, 'todo').filter((f) => !before.includes(f));
    expect(now).toHaveLength(1);
    const id = now[0];
    const mp = `${q}/mess/${Number(id) % 23}/${id}`;
    return { id, mess: readFileSync(mp), todo: readFileSync(`${q}/todo/${id}`), owner: statSync(mp).uid };
  }

  /** The exact bytes qmail-queue writes for uid/pid within [t0, t1]. */
  function expectReceived(mess: Buffer, pid: number, t0: number, t1: number, body: string): void {
    const want = [];
    for (let t = t0; t <= t1; t++) want.push(`Received: (qmail ${pid} invoked by uid ${NOBODY}); ${date822fmt(t)}\n${body}`);
    expect(want).toContain(mess.toString('latin1'));
  }

  it('the socket is mode 0666 in a directory of the queue owner', () => {
    expect(statSync(`${home}/qmail-queued/socket`).mode & 0o777).toBe(0o666);
    expect(statSync(`${home}/qmail-queued/socket`).uid).toBe(uid);
  });

  it('bin/qmail-queue run by nobody, who cannot write the queue, queues through the service', async () => {
    const before = files(q, 'todo');
    const body = 'Subject: via qmail-queue\n\nbody\n';
    const r = await qmailQueue(body, 'Fsender@example.com\0Trcpt@example.org\0Tsecond@example.org\0\0');
    expect(r.code).toBe(0);
    const m = newMessage(before);
    expect(m.owner).toBe(uid);
    expectReceived(m.mess, r.pid, r.t0, r.t1, body);
    expect(m.todo.toString('latin1')).toBe(`u${NOBODY}\0p${r.pid}\0Fsender@example.com\0Trcpt@example.org\0Tsecond@example.org\0`);
    expect(statSync(`${q}/todo/${m.id}`).uid).toBe(uid);
  });

  it('submitMessage() as nobody queues through the service; the uid, pid and invoker it claims are ignored', async () => {
    const before = files(q, 'todo');
    const body = 'Subject: via submitMessage\n\nbody\n';
    const script = `${top}/submit.mjs`;
    writeFileSync(
      script,
      `import { submitMessage } from ${JSON.stringify(`${ROOT}/dist/src/lib/queue/client.js`)};\n` +
        `const t0 = Math.floor(Date.now() / 1000);\n` +
        `const r = await submitMessage(process.env, { home: process.env.QMAILHOME, uid: 0, pid: 1, invoker: 'network' }, Buffer.from(${JSON.stringify(body)}), Buffer.from('Fa@example.com\\0Tb@example.org\\0\\0', 'latin1'));\n` +
        `console.log(JSON.stringify({ ...r, self: process.pid, t0, t1: Math.floor(Date.now() / 1000) }));\n`,
    );
    chmodSync(script, 0o644);
    const out = await execa(ours('setuidgid'), ['nobody', NODE, script], { env: { PATH: process.env.PATH, QMAILHOME: home }, extendEnv: false });
    const r = JSON.parse(out.stdout) as { code: number; reply: string; self: number; t0: number; t1: number };
    expect([r.code, r.reply]).toEqual([0, '']);
    const m = newMessage(before);
    expect(m.owner).toBe(uid);
    expectReceived(m.mess, r.self, r.t0, r.t1, body);
    expect(m.todo.toString('latin1')).toBe(`u${NOBODY}\0p${r.self}\0Fa@example.com\0Tb@example.org\0`);
  });

  it('an envelope smuggling intd fields (u0, p1) is a format error (91) and queues nothing', async () => {
    const before = files(q, 'mess');
    const r = await qmailQueue('Subject: forged\n\n', 'u0\0p1\0Fa@example.com\0Tb@example.org\0\0');
    expect(r.code).toBe(91);
    await until(() => files(q, 'mess').length === before.length);
    expect(files(q, 'mess')).toEqual(before);
  });

  it('a client killed mid-message leaves nothing in the queue', async () => {
    const before = { mess: files(q, 'mess'), todo: files(q, 'todo'), intd: files(q, 'intd') };
    const e = openSync(`${top}/e`, 'w+');
    const c = spawn(ours('setuidgid'), ['nobody', ours('qmail-queue')], { env: { PATH: process.env.PATH, QMAILHOME: home }, stdio: ['pipe', e, 'inherit'] });
    closeSync(e);
    c.stdin!.write('Subject: half\n\nthe first half of the body\n');
    // the service has made the message file: the client is mid-message
    await until(() => files(q, 'mess').length > before.mess.length, 10000);
    c.kill('SIGKILL');
    await exited(c);
    await until(() => files(q, 'mess').length === before.mess.length, 10000);
    expect(files(q, 'todo')).toEqual(before.todo);
    expect(files(q, 'intd')).toEqual(before.intd);
    expect(files(q, 'pid')).toEqual([]);
  });

  it('a connection dropped before the closing netstrings queues nothing; malformed framing neither', async () => {
    const before = { mess: files(q, 'mess'), todo: files(q, 'todo'), intd: files(q, 'intd') };
    for (const bytes of ['100:Subject: cut\n', '5:hello,0:,11:Fa@b\0Tc@d\0\0,', '5:hello;']) {
      const s = connect(`${home}/qmail-queued/socket`);
      await new Promise<void>((r) => s.on('connect', () => r()));
      s.write(bytes);
      await new Promise((r) => setTimeout(r, 50));
      s.destroy();
    }
    await until(() => files(q, 'mess').length === before.mess.length, 10000);
    expect(files(q, 'todo')).toEqual(before.todo);
    expect(files(q, 'intd')).toEqual(before.intd);
  });
});

describe('queue/queued limits (the library, as this user)', () => {
  it('-c: a connection beyond the limit waits unread until a slot frees; -t: a silent one is answered 52 and leaves nothing', async () => {
    const top = tmpdir('qql-');
    const home = `${top}/qmail`;
    queueCreate(home);
    const path = `${top}/sock`;
    const server = await startQueued({ home, path, limit: 1, timeout: 1 });
    try {
      const q = `${home}/queue`;
      // the first connection takes the only slot and goes silent
      const hold = connect(path);
      const got: Buffer[] = [];
      hold.on('data', (b: Buffer) => got.push(b));
      const closed = new Promise((r) => hold.on('close', r));
      await new Promise((r) => hold.on('connect', r));
      hold.write('5:Subj');
      // the second waits behind it, and is served once the first has timed out
      let second: { code: number } | undefined;
      const p = submitViaSocket(path, Buffer.from('Subject: second\n\n'), Buffer.from('Fa@b\0Tc@d\0\0', 'latin1')).then((r) => (second = r));
      await until(() => files(q, 'mess').length === 1, 5000);
      expect(second).toBeUndefined();
      await closed;
      expect(Buffer.concat(got).toString('latin1')).toBe('2:52,0:,');
      expect(await p).toEqual({ code: 0, text: '' });
      expect(files(q, 'todo')).toHaveLength(1);
      expect(files(q, 'mess')).toHaveLength(1);
    } finally {
      await new Promise((r) => server.close(r));
    }
    // no server: connection rejected, qmail-queue's 73
    expect(await submitViaSocket(path, Buffer.from('x'), Buffer.from('Fa\0\0'))).toEqual({ code: 73, text: '' });
  }, 20000);
});

describe.skipIf(skip !== '')('the system install: qmail-smtpd as nobody queues through the supervised qmail-queued', () => {
  const top = tmpdir('qqs-');
  chmodSync(top, 0o755);
  const L = { QMAILHOME: `${top}/var/qmail`, QMAIL_SERVICE: `${top}/service`, QMAIL_LOG: `${top}/var/log/qmail`, QMAIL_TCPSMTP: `${top}/etc/tcp.smtp` };
  const h = L.QMAILHOME;
  let port = 0;
  let svscan: ResultPromise | undefined;
  const env = (): Record<string, string> => ({ ...L, QMAILCTL_NOACCOUNTS: '1', QMAIL_LISTEN: '127.0.0.1', QMAIL_SMTP_PORT: String(port), QMAIL_POP3_PORT: '0' });
  const ctl = (...args: string[]) => execa(`${ROOT}/qmailctl`, args, { env: env(), reject: false });
  const dirs = ['qmail-send', 'qmail-smtpd', 'qmail-pop3d', 'qmail-queued'].flatMap((s) => [`${L.QMAIL_SERVICE}/${s}`, `${L.QMAIL_SERVICE}/${s}/log`]);

  afterAll(async () => {
    if (svscan?.pid) svscan.kill('SIGKILL');
    await execa(ours('svc'), ['-dx', ...dirs], { reject: false });
    await until(async () => (await Promise.all(dirs.map((d) => execa(ours('svok'), [d], { reject: false })))).every((r) => r.exitCode !== 0), 20000, 200).catch(() => undefined);
    await execa(ours('svc'), ['-dkx', ...dirs], { reject: false });
  }, 40000);

  it('setup makes the service; a message via SMTP names the uid of qmail-smtpd (nobody), not the queue owner', async () => {
    port = await freePort();
    const r = await ctl('setup', 'mail.example.com');
    expect(r.stdout.endsWith('Congratulations, your LWQ installation looks good!')).toBe(true);
    // as qmailq and qmaill where qmail's users exist (test/system-install.test.ts creates them)
    const users = qmailIds().users;
    const as = (u: 'qmailq' | 'qmaill'): string => (users[u] !== undefined ? `${ROOT}/bin/setuidgid ${u} ` : '');
    expect(readFileSync(`${h}/supervise/qmail-queued/run`, 'utf8')).toContain(`exec ${as('qmailq')}${h}/bin/qmail-queued 2>&1\n`);
    expect(readFileSync(`${h}/supervise/qmail-queued/log/run`, 'utf8')).toBe(`#!/bin/sh\nexec ${as('qmaill')}${ROOT}/bin/multilog t ${L.QMAIL_LOG}/queued\n`);
    // setup runs qmail-smtpd as qmaild (as root where this machine has no qmaild); the administrator's edit makes it nobody
    const run = `${h}/supervise/qmail-smtpd/run`;
    writeFileSync(run, readFileSync(run, 'utf8').replace(/`id -u \w+`/, '`id -u nobody`').replace(/`id -g \w+`/, '`id -g nobody`'));
    svscan = execa(ours('svscan'), [L.QMAIL_SERVICE], { env: { PATH: process.env.PATH, ...L }, extendEnv: false, reject: false, stdio: 'ignore' });
    await until(() => existsSync(`${h}/qmail-queued/socket`), 30000, 100);
    await until(async () => /qmail-queued: up/.test((await ctl('stat')).stdout) && (await smtpReplies(port, []).then(() => true, () => false)), 30000, 200);
    const stat = (await ctl('stat')).stdout;
    expect(stat).toMatch(new RegExp(`^${L.QMAIL_SERVICE}/qmail-queued: up \\(pid \\d+\\) \\d+ seconds$`, 'm'));
    expect(stat).toMatch(new RegExp(`^${L.QMAIL_SERVICE}/qmail-queued/log: up \\(pid \\d+\\) \\d+ seconds$`, 'm'));
    // qmail-send down: the message stays in todo to be looked at
    await execa(ours('svc'), ['-d', `${L.QMAIL_SERVICE}/qmail-send`]);
    await until(async () => /qmail-send: down/.test((await ctl('stat')).stdout), 15000, 100);
    const q = `${h}/queue`;
    const before = files(q, 'todo');
    const t0 = Math.floor(Date.now() / 1000);
    const rep = await smtpReplies(port, ['HELO client.example\r\n', 'MAIL FROM:<a@client.example>\r\n', 'RCPT TO:<postmaster@mail.example.com>\r\n', 'DATA\r\n', 'Subject: smtp\r\n\r\nbody\r\n.\r\n', 'QUIT\r\n']);
    const t1 = Math.floor(Date.now() / 1000);
    const ok = /^250 ok \d+ qp (\d+)\r\n$/.exec(rep[5]);
    expect(ok, rep.join('')).not.toBeNull();
    const qp = ok![1];
    const now = files(q, 'todo').filter((f) => !before.includes(f));
    expect(now).toHaveLength(1);
    const mess = readFileSync(`${q}/mess/${Number(now[0]) % 23}/${now[0]}`, 'latin1');
    const first = mess.slice(0, mess.indexOf('\n') + 1);
    const want = [];
    for (let t = t0; t <= t1; t++) want.push(`Received: (qmail ${qp} invoked by uid ${NOBODY}); ${date822fmt(t)}\n`);
    expect(want).toContain(first);
    expect(mess.slice(first.length)).toMatch(/^Received: from unknown \(HELO client\.example\) \(127\.0\.0\.1\)\n {2}by mail\.example\.com with SMTP; .*\nSubject: smtp\n\nbody\n$/);
    expect(readFileSync(`${q}/todo/${now[0]}`, 'latin1')).toBe(`u${NOBODY}\0p${qp}\0Fa@client.example\0Tpostmaster@mail.example.com\0`);
    expect((await ctl('check')).stdout).toBe('Congratulations, your LWQ installation looks good!');
    // this test's message goes nowhere (its alias has no account here)
    for (const f of [`mess/${Number(now[0]) % 23}/${now[0]}`, `todo/${now[0]}`, `intd/${now[0]}`]) rmSync(`${q}/${f}`);
  }, 90000);

  it('qmail-local forwarding as the recipient (nobody) queues the forward through the service', async () => {
    const fwd = `${top}/home/fwd`;
    const box = `${top}/home/box`;
    for (const d of [fwd, box, `${box}/Maildir`, `${box}/Maildir/cur`, `${box}/Maildir/new`, `${box}/Maildir/tmp`]) {
      mkdirSync(d, { recursive: true, mode: 0o755 });
      chownSync(d, NOBODY, NOBODY);
    }
    writeFileSync(`${fwd}/.qmail`, '&box@mail.example.com\n');
    writeFileSync(`${box}/.qmail`, './Maildir/\n');
    writeFileSync(`${h}/users/assign`, `=fwd:nobody:${NOBODY}:${NOBODY}:${fwd}:::\n=box:nobody:${NOBODY}:${NOBODY}:${box}:::\n.\n`);
    await execa(ours('qmail-newu'), [], { env: { QMAILHOME: h } });
    await execa(ours('svc'), ['-u', `${L.QMAIL_SERVICE}/qmail-send`]);
    await until(async () => /qmail-send: up/.test((await ctl('stat')).stdout), 15000, 100);
    const rep = await smtpReplies(port, ['HELO client.example\r\n', 'MAIL FROM:<>\r\n', 'RCPT TO:<fwd@mail.example.com>\r\n', 'DATA\r\n', 'Subject: forwarded\r\n\r\nbody\r\n.\r\n', 'QUIT\r\n']);
    expect(rep[5]).toMatch(/^250 ok/);
    await until(() => readdirSync(`${box}/Maildir/new`).length === 1, 30000, 100);
    const m = readFileSync(`${box}/Maildir/new/${readdirSync(`${box}/Maildir/new`)[0]}`, 'latin1');
    // the forward was queued by qmail-local running as nobody, who cannot write the queue
    expect(m).toMatch(/^Return-Path: <>\nDelivered-To: box@mail\.example\.com\nReceived: \(qmail \d+ invoked by uid 65534\); [^\n]+\nDelivered-To: fwd@mail\.example\.com\nReceived: \(qmail \d+ invoked by uid 65534\); [^\n]+\nReceived: from unknown /);
    expect(m.endsWith('Subject: forwarded\n\nbody\n')).toBe(true);
  }, 60000);
});
