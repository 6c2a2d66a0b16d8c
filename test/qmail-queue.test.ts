/**
 * qmail-queue: the fd 0 / fd 1 protocol, exit codes, the queued files byte
 * for byte (library and program path), and crash safety under kill -9.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { canStrace, fsyncedAfterLink, ours, straceCalls, tmpdir, isRoot } from './helpers.ts';
import { queueCreate } from '../src/lib/queue/create.ts';
import { queueInject, receivedLine } from '../src/lib/queue/inject.ts';
import { bufferSource } from '../src/lib/queue/source.ts';
import { envelopeBytes, parseQueuedEnvelope, EnvelopeScanner } from '../src/lib/queue/envelope.ts';
import { qfn, queueSplit } from '../src/lib/queue/layout.ts';
import { qqReply, QQ } from '../src/lib/queue/qqcodes.ts';
import { qmailIds, type QmailIds } from '../src/lib/qmailids.ts';
import { canWriteQueue, submitMessage } from '../src/lib/queue/client.ts';
import { chmodSync, chownSync } from 'node:fs';

const NOIDS: QmailIds = {
  users: { alias: 7790, qmaild: 7791, qmaill: 7792, root: 0, qmailp: 7794, qmailq: 7795, qmailr: 7796, qmails: 7797 },
  groups: { qmail: 7780, nofiles: 7781 },
};

function home(split = 23): string {
  const h = `${tmpdir()}/qmail`;
  queueCreate(h, split);
  return h;
}

/** Every file under dir (relative names), sorted. */
function files(dir: string, pre = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...files(`${dir}/${e.name}`, `${pre}${e.name}/`));
    else out.push(`${pre}${e.name}`);
  }
  return out.sort();
}

/** Run bin/qmail-queue with the message on a pipe (fd 0) and the envelope in a file (fd 1). */
function runQueue(h: string | undefined, msg: Buffer, env: Buffer, uid?: number): Promise<{ code: number | null; stderr: string }> {
  const ef = `${tmpdir()}/env`;
  writeFileSync(ef, env);
  const fd = openSync(ef, 'r');
  const child = spawn(ours('qmail-queue'), [], {
    stdio: ['pipe', fd, 'pipe'],
    env: h === undefined ? { ...process.env, QMAILHOME: '' } : { ...process.env, QMAILHOME: h },
    ...(uid === undefined ? {} : { uid, gid: uid }),
  });
  closeSync(fd);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(msg);
  return new Promise((res) => child.on('close', (code) => res({ code, stderr })));
}

describe('queue layout', () => {
  it('queueCreate makes qmail\'s tree with its modes and a trigger FIFO', () => {
    const h = home(7);
    const q = `${h}/queue`;
    const mode = (p: string): string => (lstatSync(`${q}/${p}`).mode & 0o7777).toString(8);
    expect([mode(''), mode('pid'), mode('intd'), mode('todo'), mode('bounce'), mode('mess'), mode('info'), mode('local'), mode('remote'), mode('lock')]).toEqual([
      '750', '700', '700', '750', '700', '750', '700', '700', '700', '750',
    ]);
    for (const d of ['mess', 'info', 'local', 'remote']) {
      expect(readdirSync(`${q}/${d}`).sort()).toEqual(['0', '1', '2', '3', '4', '5', '6']);
      expect(mode(`${d}/6`)).toBe(d === 'mess' ? '750' : '700');
    }
    expect(lstatSync(`${q}/lock/trigger`).isFIFO()).toBe(true);
    expect(mode('lock/trigger')).toBe('622');
    expect(readFileSync(`${q}/lock/tcpto`)).toEqual(Buffer.alloc(1024));
    expect(mode('lock/tcpto')).toBe('644');
    expect(statSync(`${q}/lock/sendmutex`).size).toBe(0);
    expect(mode('lock/sendmutex')).toBe('600');
    expect(queueSplit(q)).toBe(7);
    queueCreate(h, 7); // idempotent
    expect(qfn('mess', 30, 7)).toBe('mess/2/30');
    expect(qfn('todo', 30, 7)).toBe('todo/30');
    expect(qfn('bounce', 30, 7)).toBe('bounce/30');
  });

  it('a new queue/ has the top-directory attribute where the filesystem has one (chattr +T)', async () => {
    const h = `${tmpdir()}/q`;
    queueCreate(h, 3);
    const r = await execa('lsattr', ['-d', `${h}/queue`], { reject: false });
    if (r.exitCode !== 0) {
      console.warn(`queue attribute check skipped: lsattr: ${r.stderr || r.exitCode}`);
      return;
    }
    expect(r.stdout.split(' ')[0]).toContain('T');
  });

  it.skipIf(!isRoot)('as root, owners fall back to the invoking user when qmail users are missing', () => {
    const h = `${tmpdir()}/q`;
    queueCreate(h, 3, { ids: { users: { ...NOIDS.users, qmailq: undefined, qmails: 4321 }, groups: { qmail: 4322, nofiles: undefined } } });
    const st = (p: string) => lstatSync(`${h}/queue/${p}`);
    expect([st('mess/1').uid, st('mess/1').gid]).toEqual([0, 4322]);
    expect([st('info/1').uid, st('lock/trigger').uid]).toEqual([4321, 4321]);
  });
});

describe('envelope', () => {
  it('scans like qmail-queue: 91 for format errors, 11 past 1002 bytes, intd bytes without the final NUL', () => {
    const scan = (b: Buffer) => {
      const s = new EnvelopeScanner();
      const r = s.feed(b);
      return [r.code, s.done, Buffer.from(r.out).toString('latin1')];
    };
    expect(scan(Buffer.from('Fa@b\0Tc@d\0\0junk'))).toEqual([0, true, 'Fa@b\0Tc@d\0']);
    expect(scan(Buffer.from('F\0\0'))).toEqual([0, true, 'F\0']);
    expect(scan(Buffer.from('Xa\0\0'))[0]).toBe(91);
    expect(scan(Buffer.from('Fa\0Xb\0\0'))[0]).toBe(91);
    expect(scan(Buffer.from('Fa\0Tb\0'))).toEqual([0, false, 'Fa\0Tb\0']);
    expect(scan(Buffer.from(`F${'x'.repeat(1002)}\0\0`))[0]).toBe(0);
    expect(scan(Buffer.from(`F${'x'.repeat(1003)}\0\0`))[0]).toBe(11);
    expect(scan(Buffer.from(`Fa\0T${'x'.repeat(1003)}\0\0`))[0]).toBe(11);
    // byte at a time gives the same verdicts
    const s = new EnvelopeScanner();
    let out = '';
    for (const c of Buffer.from('Fs@x\0Tr@y\0\0')) out += Buffer.from(s.feed(Buffer.from([c])).out).toString();
    expect([s.done, out]).toEqual([true, 'Fs@x\0Tr@y\0']);
    expect(envelopeBytes('a@b', ['c@d', 'e@f']).toString('latin1')).toBe('Fa@b\0Tc@d\0Te@f\0\0');
    expect(envelopeBytes('', []).toString('latin1')).toBe('F\0\0');
  });

  it('maps exit codes to qmail_close()\'s replies', () => {
    expect(qqReply(0)).toBe('');
    expect(qqReply(11)).toBe('Denvelope address too long for qq (#5.1.3)');
    expect(qqReply(53)).toBe('Zqq write error or disk full (#4.3.0)');
    expect(qqReply(64)).toBe('Zqq trouble creating files in queue (#4.3.0)');
    expect(qqReply(91)).toBe('Zqq internal bug (#4.3.0)');
    expect(qqReply(33)).toBe('Dqq permanent problem (#5.3.0)');
    expect(qqReply(77)).toBe('Zqq temporary problem (#4.3.0)');
    expect(qqReply(82, 'DNo thanks')).toBe('DNo thanks');
    expect(qqReply(0, '', true)).toBe('Zqq crashed (#4.3.0)');
  });
});

describe('queueInject (library path)', () => {
  it('writes mess, intd and todo byte for byte and pulls the trigger', async () => {
    const h = home();
    const q = `${h}/queue`;
    const trig = openSync(`${q}/lock/trigger`, 'r+'); // a reader, like qmail-send
    const msg = Buffer.from('Subject: test\n\nbody\n\x00\xff\n');
    const r = await queueInject({ home: h, uid: 1000, pid: 4242, now: 812090814, ids: NOIDS }, msg, envelopeBytes('a@b.example', ['c@d.example', 'e@f.example']));
    expect(r.code).toBe(0);
    const id = r.id!;
    expect(id).toBe(statSync(`${q}/mess/${id % 23}/${id}`).ino);
    expect(readFileSync(`${q}/mess/${id % 23}/${id}`)).toEqual(
      Buffer.concat([Buffer.from('Received: (qmail 4242 invoked by uid 1000); 26 Sep 1995 04:46:54 -0000\n'), msg]),
    );
    const env = Buffer.from('u1000\0p4242\0Fa@b.example\0Tc@d.example\0Te@f.example\0', 'latin1');
    expect(readFileSync(`${q}/todo/${id}`)).toEqual(env);
    expect(statSync(`${q}/todo/${id}`).ino).toBe(statSync(`${q}/intd/${id}`).ino);
    expect(files(q).filter((f) => !f.startsWith('lock/'))).toEqual([`intd/${id}`, `mess/${id % 23}/${id}`, `todo/${id}`]);
    expect((statSync(`${q}/mess/${id % 23}/${id}`).mode & 0o777).toString(8)).toBe('644');
    expect(parseQueuedEnvelope(env)).toEqual({
      uid: 1000,
      pid: 4242,
      sender: Buffer.from('a@b.example'),
      recipients: [Buffer.from('c@d.example'), Buffer.from('e@f.example')],
    });
    const b = Buffer.alloc(8);
    const { readSync } = await import('node:fs');
    expect(readSync(trig, b)).toBe(1);
    expect(b[0]).toBe(0);
    closeSync(trig);
  });

  it('pulls a FIFO trigger once per message through a kept descriptor; a regular lock/trigger (LWQ G.9) is written in place each time, never grown', async () => {
    const { readSync } = await import('node:fs');
    const h = home();
    const q = `${h}/queue`;
    const trig = openSync(`${q}/lock/trigger`, 'r+');
    const env = envelopeBytes('a@b.example', ['c@d.example']);
    try {
      for (let i = 0; i < 3; i++) expect((await queueInject({ home: h, ids: NOIDS }, Buffer.from('x\n'), env)).code).toBe(0);
      expect(readSync(trig, Buffer.alloc(8))).toBe(3);
    } finally {
      closeSync(trig);
    }
    const h2 = home();
    rmSync(`${h2}/queue/lock/trigger`);
    writeFileSync(`${h2}/queue/lock/trigger`, '');
    for (let i = 0; i < 3; i++) expect((await queueInject({ home: h2, ids: NOIDS }, Buffer.from('x\n'), env)).code).toBe(0);
    expect(statSync(`${h2}/queue/lock/trigger`).size).toBe(1);
  });

  it('streams from ByteSources and says alias / network / bounce for those users', async () => {
    const h = home(5);
    const big = Buffer.alloc(300_000, 'x');
    const r = await queueInject({ home: h, uid: 7791, pid: 1, now: 820631134, ids: NOIDS }, bufferSource(big), bufferSource(envelopeBytes('', ['r@x'])));
    expect(r.code).toBe(0);
    const m = readFileSync(`${h}/queue/mess/${r.id! % 5}/${r.id}`);
    expect(m.subarray(0, 70).toString()).toBe('Received: (qmail 1 invoked from network); 3 Jan 1996 01:05:34 -0000\nxx');
    expect(m.length).toBe(68 + big.length);
    expect(receivedLine(9, 7790, 0, NOIDS)).toBe('Received: (qmail 9 invoked by alias); 1 Jan 1970 00:00:00 -0000\n');
    expect(receivedLine(9, 7797, 0, NOIDS)).toBe('Received: (qmail 9 invoked for bounce); 1 Jan 1970 00:00:00 -0000\n');
    expect(receivedLine(9, 5, 0, NOIDS, 'network')).toBe('Received: (qmail 9 invoked from network); 1 Jan 1970 00:00:00 -0000\n');
  });

  it('returns the exit codes of qmail-queue(8) and leaves nothing behind on failure', async () => {
    const h = home(3);
    const q = `${h}/queue`;
    const inj = (env: string | Buffer, o: object = {}) =>
      queueInject({ home: h, ids: NOIDS, ...o }, Buffer.from('m\n'), typeof env === 'string' ? Buffer.from(env, 'latin1') : env);
    expect((await inj('Xa\0\0')).code).toBe(QQ.ENVELOPE);
    expect((await inj('Fa\0Tb\0Zc\0\0')).code).toBe(91);
    expect((await inj(`Fa\0T${'y'.repeat(1003)}\0\0`)).code).toBe(QQ.ADDR_TOO_LONG);
    expect((await inj('Fa\0Tb\0')).code).toBe(QQ.READ); // EOF before the final NUL
    expect((await inj('')).code).toBe(54);
    expect((await inj('Fa\0\0', { home: `${h}/nonexistent` })).code).toBe(QQ.HOME);
    const bad = `${tmpdir()}/noqueue`;
    mkdirSync(bad);
    expect((await inj('Fa\0\0', { home: bad })).code).toBe(QQ.QUEUE);
    const failing = { read: () => Promise.reject(Object.assign(new Error('x'), { code: 'EIO' })) };
    expect((await queueInject({ home: h, ids: NOIDS }, failing, Buffer.from('Fa\0\0'))).code).toBe(54);
    expect((await queueInject({ home: h, ids: NOIDS }, Buffer.from('m'), failing)).code).toBe(54);
    expect(files(q).filter((f) => !f.startsWith('lock/'))).toEqual([]);
    // broken pieces of the queue: each gives its own code
    rmSync(`${q}/todo`, { recursive: true });
    expect((await inj('Fa\0\0')).code).toBe(QQ.TODO);
    rmSync(`${q}/intd`, { recursive: true });
    expect((await inj('Fa\0\0')).code).toBe(QQ.INTD);
    rmSync(`${q}/mess`, { recursive: true });
    expect((await inj('Fa\0\0', { split: 3 })).code).toBe(QQ.MESS);
    rmSync(`${q}/pid`, { recursive: true });
    expect((await inj('Fa\0\0')).code).toBe(QQ.PID);
    expect(files(q).filter((f) => !f.startsWith('lock/'))).toEqual([]);
  });

  it('with the envelope in memory and the message streamed (qmail-smtpd), makes intd/N early yet gives the same files and verdicts', async () => {
    const h = home(3);
    const q = `${h}/queue`;
    const inj = (env: string, msg = bufferSource(Buffer.from('m\n'))) => queueInject({ home: h, ids: NOIDS, now: 812090814, pid: 7 }, msg, Buffer.from(env, 'latin1'));
    for (const [env, code] of [['Xa\0\0', QQ.ENVELOPE], ['Fa\0Tb\0Zc\0\0', 91], [`Fa\0T${'y'.repeat(1003)}\0\0`, QQ.ADDR_TOO_LONG], ['Fa\0Tb\0', QQ.READ], ['', 54]] as const) {
      expect((await inj(env)).code).toBe(code);
    }
    // the message's read error wins, as in the original (intd/N made early is removed again)
    const failing = { read: () => Promise.reject(Object.assign(new Error('x'), { code: 'EIO' })) };
    expect((await inj('Fa\0Tb\0\0', failing)).code).toBe(54);
    expect(files(q).filter((f) => !f.startsWith('lock/'))).toEqual([]);
    const r = await inj('Fa@b.example\0Tc@d.example\0\0');
    expect(r.code).toBe(0);
    expect(readFileSync(`${q}/todo/${r.id}`, 'latin1')).toBe(`u${process.getuid!()}\0p7\0Fa@b.example\0Tc@d.example\0`);
    expect(readFileSync(`${q}/${qfn('mess', r.id!, 3)}`, 'latin1')).toMatch(/^Received: \(qmail 7 invoked by uid \d+\); 26 Sep 1995 04:46:54 -0000\nm\n$/);
    rmSync(`${q}/intd`, { recursive: true });
    expect((await inj('Fa\0\0')).code).toBe(QQ.INTD);
    expect(files(q).filter((f) => !f.startsWith('lock/') && !/^(todo|mess\/\d+)\/\d+$/.test(f))).toEqual([]);
  });

  it('queues into a queue made again under the same name (todo/ is synced through a descriptor of the moment)', async () => {
    const h = home();
    const env = envelopeBytes('s@x', ['r@y']);
    expect((await queueInject({ home: h, ids: NOIDS }, Buffer.from('one\n'), env)).code).toBe(0);
    rmSync(h, { recursive: true });
    queueCreate(h, 23);
    const r = await queueInject({ home: h, ids: NOIDS }, Buffer.from('two\n'), env);
    expect(r.code).toBe(0);
    expect(readdirSync(`${h}/queue/todo`)).toEqual([String(r.id)]);
  });

  it('queues concurrent in-process injections under distinct numbers', async () => {
    const h = home();
    const rs = await Promise.all(
      Array.from({ length: 40 }, (_, i) => queueInject({ home: h, ids: NOIDS, now: 812090814 }, Buffer.from(`n ${i}\n`), envelopeBytes('s@x', [`r${i}@y`]))),
    );
    expect(rs.every((r) => r.code === 0)).toBe(true);
    expect(new Set(rs.map((r) => r.id)).size).toBe(40);
    expect(readdirSync(`${h}/queue/todo`).length).toBe(40);
    expect(readdirSync(`${h}/queue/pid`).length).toBe(0);
  });
});

describe('qmail-queue (program)', () => {
  it('reads fd 0 and fd 1 and queues the same files as the library', async () => {
    const h = home();
    const q = `${h}/queue`;
    const r = await runQueue(h, Buffer.from('Subject: x\n\nhello\n'), Buffer.from('Fme@x.example\0Tyou@y.example\0\0'));
    expect(r).toEqual({ code: 0, stderr: '' });
    const [id] = readdirSync(`${q}/todo`);
    const todo = readFileSync(`${q}/todo/${id}`, 'latin1');
    const m = /^u(\d+)\0p(\d+)\0Fme@x\.example\0Tyou@y\.example\0$/.exec(todo);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBe(process.getuid!());
    const mess = readFileSync(`${q}/mess/${Number(id) % 23}/${id}`, 'latin1');
    expect(mess).toMatch(new RegExp(`^Received: \\(qmail ${m![2]} invoked by uid ${m![1]}\\); \\d{1,2} [A-Z][a-z]{2} \\d{4} \\d\\d:\\d\\d:\\d\\d -0000\\nSubject: x\\n\\nhello\\n$`));
  });

  it('makes the todo/N link durable before it exits 0: fsync of todo/ after the link, mess/N and intd/N closed before it (strace)', async (ctx) => {
    if (!(await canStrace())) return ctx.skip('strace cannot trace here (missing, or ptrace not allowed)');
    const h = home();
    const q = `${h}/queue`;
    const ef = `${tmpdir()}/env`;
    writeFileSync(ef, 'Fme@x.example\0Tyou@y.example\0\0');
    const out = `${tmpdir()}/strace`;
    const fd = openSync(ef, 'r');
    const child = spawn('strace', ['-f', '-qq', '-o', out, '-e', 'trace=openat,link,linkat,fsync,close', ours('qmail-queue')], { stdio: ['pipe', fd, 'inherit'], env: { ...process.env, QMAILHOME: h } });
    closeSync(fd);
    child.stdin!.end('Subject: x\n\nhello\n');
    expect(await new Promise((res) => child.on('close', res))).toBe(0);
    const [id] = readdirSync(`${q}/todo`);
    expect(fsyncedAfterLink(out, `${q}/todo/${id}`, `${q}/todo`)).toBe(true);
    // closed before the link: a close after qmail-send removed the files would free them on the server's event loop
    const calls = straceCalls(out);
    const link = calls.find((c) => c.call === 'link' && c.args.includes(`"${q}/todo/${id}"`))!;
    for (const made of [`${q}/pid/`, `${q}/intd/${id}"`]) {
      const open = calls.find((c) => c.call === 'openat' && c.args.startsWith(`AT_FDCWD, "${made}`) && /^\d+$/.test(c.ret))!;
      const close = calls.find((c) => c.call === 'close' && c.args === open.ret && c.start > open.end);
      expect(close?.ret, made).toBe('0');
      expect(close!.end, made).toBeLessThan(link.start);
    }
  });

  it('exits 91, 11, 54, 61, 62 without diagnostics and leaves no files', async () => {
    const h = home();
    const q = `${h}/queue`;
    const msg = Buffer.from('x\n');
    expect(await runQueue(h, msg, Buffer.from('Ta\0\0'))).toEqual({ code: 91, stderr: '' });
    expect((await runQueue(h, msg, Buffer.from(`F${'z'.repeat(2000)}\0\0`))).code).toBe(11);
    expect((await runQueue(h, msg, Buffer.from('Fa\0Tb'))).code).toBe(54);
    expect((await runQueue(`${h}/missing`, msg, Buffer.from('F\0\0'))).code).toBe(61);
    const noq = `${tmpdir()}/nq`;
    mkdirSync(noq);
    expect((await runQueue(noq, msg, Buffer.from('F\0\0'))).code).toBe(62);
    expect(files(q).filter((f) => !f.startsWith('lock/'))).toEqual([]);
  });

  it('survives kill -9 at random points: todo entries always complete, orphans only outside todo', async () => {
    const h = home();
    const q = `${h}/queue`;
    const ef = `${tmpdir()}/envk`;
    const envb = Buffer.from('Fs@x.example\0Ta@y.example\0Tb@y.example\0\0');
    writeFileSync(ef, envb);
    const part = Buffer.alloc(40_000, 'abcdefghij\n');
    const body = Buffer.concat([part, part, part]);
    let seed = 12345;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const KILLS = 50;
    let completed = 0;
    for (let k = 0; k < KILLS; k++) {
      const fd = openSync(ef, 'r');
      const child = spawn(ours('qmail-queue'), [], { stdio: ['pipe', fd, 'ignore'], env: { ...process.env, QMAILHOME: h } });
      closeSync(fd);
      child.stdin!.on('error', () => undefined);
      const done = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
      const killAt = rnd(140);
      const killer = setTimeout(() => child.kill('SIGKILL'), killAt);
      child.stdin!.write(part);
      await new Promise((r) => setTimeout(r, rnd(60)));
      child.stdin!.write(part);
      await new Promise((r) => setTimeout(r, rnd(30)));
      child.stdin!.end(part);
      const code = await done;
      clearTimeout(killer);
      if (code === 0) completed++;
    }
    // invariant: every todo/N is complete, with a complete mess/N
    const todo = readdirSync(`${q}/todo`);
    expect(todo.length).toBeGreaterThanOrEqual(completed); // a kill may land after todo/N was linked
    for (const id of todo) {
      const env = parseQueuedEnvelope(readFileSync(`${q}/todo/${id}`));
      expect(env?.recipients.map(String)).toEqual(['a@y.example', 'b@y.example']);
      const mess = readFileSync(`${q}/mess/${Number(id) % 23}/${id}`);
      const nl = mess.indexOf(10);
      expect(mess.subarray(0, nl + 1).toString()).toMatch(/^Received: \(qmail \d+ invoked by uid \d+\); .* -0000\n$/);
      expect(mess.subarray(nl + 1).equals(body)).toBe(true);
    }
    // orphans (killed mid-way) only in pid/, mess/, intd/, never todo/
    const queued = new Set(todo);
    const orphans = files(q).filter((f) => !f.startsWith('lock/') && !queued.has(f.split('/').pop()!));
    for (const f of orphans) expect(['pid', 'mess', 'intd']).toContain(f.split('/')[0]);
    console.log(`kill -9 x${KILLS}: ${todo.length} queued (${completed} exited 0), ${orphans.length} orphan files for qmail-send's cleanup`);
  }, 120_000);
});

describe('submitMessage (qmail_open/qmail_close)', () => {
  const ENV = envelopeBytes('s@x.example', ['r@y.example']);

  it('queues in-process when the queue is writable', async () => {
    const h = home();
    expect(canWriteQueue(h)).toBe(true);
    const r = await submitMessage({}, { home: h }, Buffer.from('m\n'), ENV);
    expect(r.code).toBe(0);
    expect(r.reply).toBe('');
    expect(readdirSync(`${h}/queue/todo`)).toEqual([String(r.id)]);
  });

  it('runs $QMAILQUEUE with the message on fd 0, the envelope on fd 1, and reads fd 6 for exit 82', async () => {
    const d = tmpdir();
    const qq = `${d}/qq`;
    writeFileSync(qq, `#!/bin/sh\ncat > ${d}/msg\ncat <&1 > ${d}/env\ncase "$MODE" in\n82) printf 'DNo thanks' >&6; exit 82;;\n31) exit 31;;\nkill) kill -9 $$;;\nesac\nexit 0\n`);
    chmodSync(qq, 0o755);
    const h = home();
    const r = await submitMessage({ QMAILQUEUE: qq }, { home: h }, Buffer.from('hello\n'), ENV);
    expect(r).toEqual({ code: 0, reply: '', pid: expect.any(Number) });
    expect(readFileSync(`${d}/msg`, 'latin1')).toBe('hello\n');
    expect(readFileSync(`${d}/env`)).toEqual(ENV);
    expect(await submitMessage({ QMAILQUEUE: qq, MODE: '82' }, { home: h }, Buffer.from('x'), ENV)).toMatchObject({ code: 82, reply: 'DNo thanks' });
    expect(await submitMessage({ QMAILQUEUE: qq, MODE: '31' }, { home: h }, Buffer.from('x'), ENV)).toMatchObject({ code: 31, reply: 'Dmail server permanently rejected message (#5.3.0)' });
    expect((await submitMessage({ QMAILQUEUE: qq, MODE: 'kill' }, { home: h }, Buffer.from('x'), ENV)).reply).toBe('Zqq crashed (#4.3.0)');
    expect(await submitMessage({ QMAILQUEUE: `${d}/missing` }, { home: h }, Buffer.from('x'), ENV)).toEqual({ code: 120, reply: 'Zunable to exec qq (#4.3.0)' });
    expect(readdirSync(`${h}/queue/todo`)).toEqual([]);
    // our own qmail-queue as QMAILQUEUE
    expect(await submitMessage({ QMAILQUEUE: ours('qmail-queue') }, { home: h }, Buffer.from('x\n'), ENV)).toMatchObject({ code: 0, reply: '' });
    expect(readdirSync(`${h}/queue/todo`).length).toBe(1);
  });

  it.skipIf(!isRoot)('as an unprivileged user (nobody): no access to the queue is 62, an unwritable pid/ is 63', async () => {
    const nobody = 65534;
    const base = tmpdir();
    chmodSync(base, 0o755);
    const h = `${base}/qmail`;
    queueCreate(h, 23);
    expect((await runQueue(h, Buffer.from('x\n'), Buffer.from('F\0\0'), nobody)).code).toBe(62);
    chownSync(`${h}/queue`, nobody, nobody);
    expect((await runQueue(h, Buffer.from('x\n'), Buffer.from('F\0\0'), nobody)).code).toBe(63);
    for (const d of ['pid', 'mess', 'intd', 'todo']) chownSync(`${h}/queue/${d}`, nobody, nobody);
    for (let i = 0; i < 23; i++) chownSync(`${h}/queue/mess/${i}`, nobody, nobody);
    expect((await runQueue(h, Buffer.from('x\n'), Buffer.from('Fa\0Tb\0\0'), nobody)).code).toBe(0);
    const [id] = readdirSync(`${h}/queue/todo`);
    expect(readFileSync(`${h}/queue/todo/${id}`, 'latin1')).toMatch(/^u65534\0p\d+\0Fa\0Tb\0$/);
    expect(statSync(`${h}/queue/mess/${Number(id) % 23}/${id}`).uid).toBe(nobody);
  });

  it('resolves qmail\'s users and groups by name, undefined when missing', () => {
    const d = tmpdir();
    writeFileSync(`${d}/passwd`, 'root:x:0:0::/root:/bin/sh\nalias:x:7790:2108::/var/qmail/alias:/bin/true\nqmaild:x:7791:2108::/var/qmail:/bin/true\nbad line\n');
    writeFileSync(`${d}/group`, 'qmail:x:2107:\nnofiles:x:2108:\n');
    const ids = qmailIds(`${d}/passwd`, `${d}/group`);
    expect(ids.users).toEqual({ alias: 7790, qmaild: 7791, qmaill: undefined, root: 0, qmailp: undefined, qmailq: undefined, qmailr: undefined, qmails: undefined });
    expect(ids.groups).toEqual({ qmail: 2107, nofiles: 2108 });
  });
});
