/**
 * maildir and mbox delivery primitives: files byte for byte, >From quoting,
 * locking, and no partial message left behind on failure.
 */
import { describe, expect, it } from 'vitest';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { spawn } from 'node:child_process';
import { canStrace, fsyncedAfterLink, NODE, ROOT, tmpdir } from './helpers.ts';
import { execa } from 'execa';
import { maildirDeliver } from '../src/lib/deliver/maildir.ts';
import { fromLine, isFromLine, mboxDeliver } from '../src/lib/deliver/mbox.ts';
import type { ByteSource } from '../src/lib/queue/source.ts';
import { LOCK_EX, LOCK_UN, sys } from '../src/lib/native.ts';
import { fsyncFds, fsyncGrouped, fsyncSignal, syncThenLink, syncThenUnlink } from '../src/lib/fsyncfd.ts';

const PREFIX = Buffer.from('Return-Path: <god@heaven.af.mil>\nDelivered-To: djb@silverton.berkeley.edu\n');

function maildir(): string {
  const d = `${tmpdir()}/Maildir`;
  for (const s of ['', '/tmp', '/new', '/cur']) mkdirSync(d + s);
  return d;
}

/** A source giving `size`-byte chunks, failing after `failAfter` bytes when set. */
function chunks(b: Buffer, size: number, failAfter?: number): ByteSource {
  let off = 0;
  return {
    read(into) {
      if (failAfter !== undefined && off >= failAfter) return Promise.reject(Object.assign(new Error('io'), { code: 'EIO' }));
      const n = Math.min(size, into.length, b.length - off);
      b.copy(into, 0, off, off + n);
      off += n;
      return Promise.resolve(n);
    },
  };
}

describe('maildir delivery', () => {
  it('makes the new/ link durable before it reports the delivery: fsync of new/ after the link (strace)', async (ctx) => {
    if (!(await canStrace())) return ctx.skip('strace cannot trace here (missing, or ptrace not allowed)');
    const d = tmpdir('md-sync-');
    for (const x of ['', '/tmp', '/new', '/cur']) mkdirSync(`${d}/Maildir${x}`);
    const out = `${d}/strace`;
    // one delivery alone (one pool job), then three at once (grouped fsyncs)
    const code = `const { maildirDeliver } = await import(${JSON.stringify(`${ROOT}/src/lib/deliver/maildir.ts`)}); const one = () => maildirDeliver(${JSON.stringify(`${d}/Maildir`)}, Buffer.from('x\\n'), { host: 'h.example' }); const rs = [await one(), ...(await Promise.all([one(), one(), one()]))]; process.stdout.write(rs.map((r) => r.ok ? r.file : r.text).join(' '));`;
    const r = await execa('strace', ['-f', '-qq', '-o', out, '-e', 'trace=openat,link,linkat,fsync', NODE, '--input-type=module', '-e', code], { reject: false });
    const files = r.stdout.split(' ');
    expect(files).toHaveLength(4);
    for (const f of files) {
      expect(f).toMatch(/^new\//);
      expect(fsyncedAfterLink(out, `${d}/Maildir/${f}`, `${d}/Maildir/new`)).toBe(true);
    }
    expect(readdirSync(`${d}/Maildir/tmp`)).toEqual([]);
  });

  it('writes tmp/TIME.PID.HOST, links it into new/ and leaves tmp/ empty', async () => {
    const d = maildir();
    const msg = Buffer.from('From: a\n\nbody without final newline');
    const r = await maildirDeliver(d, msg, { prefix: PREFIX, now: () => 812090814 });
    expect(r).toEqual({ ok: true, file: `new/812090814.${process.pid}.${hostname()}` });
    expect(readFileSync(`${d}/${(r as { file: string }).file}`)).toEqual(Buffer.concat([PREFIX, msg]));
    expect(readdirSync(`${d}/tmp`)).toEqual([]);
    // the next delivery from this process gets PID_1, streamed in small chunks
    const r2 = await maildirDeliver(d, chunks(msg, 3), { prefix: PREFIX, host: 'h.example', now: () => 812090814 });
    expect(r2).toEqual({ ok: true, file: `new/812090814.${process.pid}_1.h.example` });
    expect(readFileSync(`${d}/new/812090814.${process.pid}_1.h.example`)).toEqual(Buffer.concat([PREFIX, msg]));
  });

  it('retries after 2 seconds when the tmp name exists', async () => {
    const d = maildir();
    const times = [700, 702];
    // the next uniq is PID_2 (third delivery of this process)
    writeFileSync(`${d}/tmp/700.${process.pid}_2.h`, 'stale');
    const r = await maildirDeliver(d, Buffer.from('x\n'), { host: 'h', now: () => times.shift() ?? 704 });
    expect(r).toEqual({ ok: true, file: `new/702.${process.pid}_2.h` });
  });

  it('defers with qmail-local\'s texts and cleans tmp/', async () => {
    const d = maildir();
    expect(await maildirDeliver(`${d}/nonexistent`, Buffer.from('x'))).toEqual({ ok: false, text: 'Unable to chdir to maildir. (#4.2.1)' });
    writeFileSync(`${d}/file`, '');
    expect(await maildirDeliver(`${d}/file`, Buffer.from('x'))).toEqual({ ok: false, text: 'Unable to chdir to maildir. (#4.2.1)' });
    const r = await maildirDeliver(d, chunks(Buffer.alloc(1000, 'y'), 100, 300));
    expect(r).toEqual({ ok: false, text: 'Unable to read message. (#4.3.0)' });
    expect([readdirSync(`${d}/tmp`), readdirSync(`${d}/new`)]).toEqual([[], []]);
    const noTmp = `${tmpdir()}/broken`;
    mkdirSync(noTmp);
    expect(await maildirDeliver(noTmp, Buffer.from('x'))).toEqual({ ok: false, text: 'Temporary error on maildir delivery. (#4.3.0)' });
  });
});

describe("maildir delivery's 24-hour timer (here 200 ms)", () => {
  it('a stalled message source: tmp/ file removed, "Timeout on maildir delivery", nothing reaches new/ when it wakes', async () => {
    const d = maildir();
    let wake: ((n: number) => void) | undefined;
    let reads = 0;
    const stalled: ByteSource = {
      read(into) {
        if (reads++ === 0) return Promise.resolve(into.write('Subject: half\n'));
        return new Promise((r) => (wake = () => r(into.write('the rest\n'))));
      },
    };
    const p = maildirDeliver(d, stalled, { prefix: PREFIX, timeoutMs: 200 });
    await new Promise((r) => setTimeout(r, 50));
    const tmp = readdirSync(`${d}/tmp`);
    expect(tmp).toHaveLength(1);
    expect(readFileSync(`${d}/tmp/${tmp[0]}`, 'latin1')).toBe(`${PREFIX.toString('latin1')}Subject: half\n`);
    expect(await p).toEqual({ ok: false, text: 'Timeout on maildir delivery. (#4.3.0)' });
    expect([readdirSync(`${d}/tmp`), readdirSync(`${d}/new`)]).toEqual([[], []]);
    // the source answers after all: no write, no link
    wake!(0);
    await new Promise((r) => setTimeout(r, 50));
    expect([readdirSync(`${d}/tmp`), readdirSync(`${d}/new`)]).toEqual([[], []]);
  });

  it('a finished delivery cancels its timer: a process that delivered once exits by itself', async () => {
    const d = maildir();
    const script = `import { maildirDeliver } from '${ROOT}/dist/src/lib/deliver/maildir.js';
const r = await maildirDeliver(process.argv[1], Buffer.from('Subject: once\\n'));
console.log(JSON.stringify(r));`;
    const c = spawn(NODE, ['--input-type=module', '-e', script, d], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    const t = setTimeout(() => c.kill('SIGKILL'), 20000);
    const code = await new Promise((r) => c.on('close', (n) => r(n)));
    clearTimeout(t);
    expect([code, JSON.parse(out).ok]).toEqual([0, true]);
    expect([readdirSync(`${d}/tmp`), readdirSync(`${d}/new`).length]).toEqual([[], 1]);
  });
});

describe('maildir delivery under kill -9', () => {
  it('never shows a partial message in new/ (20 random kills)', async () => {
    const d = maildir();
    const script = `import { maildirDeliver } from '${ROOT}/dist/src/lib/deliver/maildir.js';
import { fdSource } from '${ROOT}/dist/src/lib/queue/source.js';
const r = await maildirDeliver(process.argv[1], fdSource(0), { prefix: Buffer.from('Delivered-To: x\\n') });
process.exit(r.ok ? 0 : 111);`;
    const part = Buffer.alloc(50_000, 'line of text\n');
    const whole = Buffer.concat([Buffer.from('Delivered-To: x\n'), part, part, part]);
    let seed = 99;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    let ok = 0;
    for (let k = 0; k < 20; k++) {
      const child = spawn(NODE, ['--input-type=module', '-e', script, d], { stdio: ['pipe', 'ignore', 'inherit'] });
      child.stdin!.on('error', () => undefined);
      const done = new Promise<number | null>((res) => child.on('close', res));
      const killer = setTimeout(() => child.kill('SIGKILL'), 30 + rnd(150));
      child.stdin!.write(part);
      await new Promise((r) => setTimeout(r, 40 + rnd(60)));
      child.stdin!.write(part);
      await new Promise((r) => setTimeout(r, 20 + rnd(40)));
      child.stdin!.end(part);
      if ((await done) === 0) ok++;
      clearTimeout(killer);
    }
    const delivered = readdirSync(`${d}/new`);
    expect(delivered.length).toBeGreaterThanOrEqual(ok);
    for (const f of delivered) expect(readFileSync(`${d}/new/${f}`).equals(whole)).toBe(true);
    console.log(`maildir kill -9 x20: ${delivered.length} delivered (${ok} exited 0), ${readdirSync(`${d}/tmp`).length} partial files left in tmp/`);
  }, 120_000);
});

describe('mbox delivery', () => {
  const MSG = Buffer.from('From: God <god@heaven.af.mil>\nSubject: x\n\nFrom the start\n>From quoted\n>>From deeper\nFromage\n From indented\npartial last line');
  const EXPECT =
    'From god@heaven.af.mil Wed Jan 03 01:05:34 1996\n' +
    'Return-Path: <god@heaven.af.mil>\n' +
    'Delivered-To: djb@silverton.berkeley.edu\n' +
    'From: God <god@heaven.af.mil>\nSubject: x\n\n>From the start\n>>From quoted\n>>>From deeper\nFromage\n From indented\npartial last line\n\n';

  it('appends From_ line, prefix, >From-quoted message and the blank line byte for byte', async () => {
    const f = `${tmpdir()}/Mailbox`;
    expect(await mboxDeliver(f, MSG, { sender: 'god@heaven.af.mil', prefix: PREFIX, now: 820631134 })).toEqual({ ok: true });
    expect(readFileSync(f, 'latin1')).toBe(EXPECT);
    // the same through 1-byte and 7-byte chunks, appended
    await mboxDeliver(f, chunks(MSG, 1), { sender: 'god@heaven.af.mil', prefix: PREFIX, now: 820631134 });
    await mboxDeliver(f, chunks(MSG, 7), { sender: 'god@heaven.af.mil', prefix: PREFIX, now: 820631134 });
    expect(readFileSync(f, 'latin1')).toBe(EXPECT + EXPECT + EXPECT);
    // a message ending in a newline gets just the blank line
    const g = `${tmpdir()}/mb2`;
    await mboxDeliver(g, Buffer.from('a\n'), { sender: '', now: 0 });
    expect(readFileSync(g, 'latin1')).toBe('From MAILER-DAEMON Thu Jan 01 00:00:00 1970\na\n\n');
  });

  it('builds the From_ line as qmail-local (LWQ 4.1.2 form)', () => {
    expect(fromLine('user1@example.net', 926620490).toString()).toBe('From user1@example.net Thu May 13 18:34:50 1999\n');
    expect(fromLine('a b\tc\nd', 0).toString()).toBe('From a-b-c-d Thu Jan 01 00:00:00 1970\n');
    expect(fromLine('', 0).toString()).toBe('From MAILER-DAEMON Thu Jan 01 00:00:00 1970\n');
    expect([isFromLine(Buffer.from('From ')), isFromLine(Buffer.from('>>From x')), isFromLine(Buffer.from('From\n')), isFromLine(Buffer.from('>From'))]).toEqual([true, true, false, false]);
  });

  it('waits for the lock, gives up with qmail\'s text, and truncates back on a read error', async () => {
    const f = `${tmpdir()}/Mailbox`;
    writeFileSync(f, 'old\n');
    const fd = openSync(f, 'r');
    sys.flock(fd, LOCK_EX);
    expect(await mboxDeliver(f, MSG, { sender: 's', lockWait: 150 })).toEqual({ ok: false, text: 'File has been locked for 30 seconds straight. (#4.3.0)' });
    setTimeout(() => sys.flock(fd, LOCK_UN), 100);
    expect(await mboxDeliver(f, Buffer.from('new\n'), { sender: 's', now: 0 })).toEqual({ ok: true });
    closeSync(fd);
    expect(readFileSync(f, 'latin1')).toBe('old\nFrom s Thu Jan 01 00:00:00 1970\nnew\n\n');
    const r = await mboxDeliver(f, chunks(Buffer.alloc(5000, 'z'), 1000, 3000), { sender: 's' });
    expect(r).toEqual({ ok: false, text: 'Unable to read message: input/output error. (#4.3.0)' });
    expect(readFileSync(f, 'latin1')).toBe('old\nFrom s Thu Jan 01 00:00:00 1970\nnew\n\n');
  });

  it('cannot deliver to /dev/null (LWQ G.17) and reports unopenable files', async () => {
    expect(await mboxDeliver('/dev/null', Buffer.from('x\n'), { sender: 's' })).toEqual({ ok: false, text: 'Unable to write /dev/null: invalid argument. (#4.3.0)' });
    const p = `${tmpdir()}/no/such`;
    expect(await mboxDeliver(p, Buffer.from('x\n'), { sender: 's' })).toEqual({ ok: false, text: `Unable to open ${p}: file does not exist. (#4.2.1)` });
  });
});

describe('fsyncFds (one pool job for several fsyncs)', () => {
  it('answers per descriptor: null when on disk, the errno Error otherwise', async () => {
    const d = tmpdir('fsyncfds-');
    const a = openSync(`${d}/a`, 'w');
    const b = openSync(`${d}/b`, 'w');
    const [r, w] = sys.pipe();
    try {
      writeFileSync(a, 'x'.repeat(600));
      writeFileSync(b, 'y');
      expect(await fsyncFds([a, b])).toEqual([null, null]);
      const errs = await fsyncFds([a, r, b, 999]);
      expect(errs[0]).toBeNull();
      expect(errs[1]?.code).toBe('EINVAL'); // a pipe cannot be fsynced
      expect(errs[2]).toBeNull();
      expect(errs[3]?.code).toBe('EBADF');
      expect(errs[3]?.errno).toBe(9);
      expect(() => sys.syncUnlink([], [], () => undefined)).toThrow(TypeError);
      expect(() => sys.syncUnlink([1, 2, 3, 4, 5, 6, 7, 8, 9], [], () => undefined)).toThrow(TypeError);
    } finally {
      for (const fd of [a, b, r, w]) closeSync(fd);
    }
  });

  it('fsyncGrouped: the fsyncs of one event-loop turn go as groups of up to 8, each answered on its own', async () => {
    const d = tmpdir('fsyncgrouped-');
    const fds = Array.from({ length: 10 }, (_, i) => openSync(`${d}/f${i}`, 'w'));
    const [r, w] = sys.pipe();
    try {
      for (const fd of fds) writeFileSync(fd, 'x');
      const all = await Promise.all([...fds.slice(0, 5), r, ...fds.slice(5)].map((fd) => fsyncGrouped(fd)));
      expect(all.map((e) => e?.code ?? null)).toEqual([null, null, null, null, null, 'EINVAL', null, null, null, null, null]);
      // a descriptor asked for again in the same turn shares its group's fsync (a directory's group commit)
      const dir = openSync(d, 'r');
      fds.push(dir);
      const again = await Promise.all([dir, r, dir, fds[0], dir].map((fd) => fsyncGrouped(fd)));
      expect(again.map((e) => e?.code ?? null)).toEqual([null, 'EINVAL', null, null, null]);
    } finally {
      for (const fd of [...fds, r, w]) closeSync(fd);
    }
  });

  it('fsyncSignal + syncThenLink: the link, the directory fsync and the unlinks wait, on the pool, for the earlier job\'s fsync; any failure before the link cancels them', async () => {
    const d = tmpdir('synclink-');
    const a = openSync(`${d}/a`, 'w');
    const b = openSync(`${d}/b`, 'w');
    const [r, w] = sys.pipe();
    try {
      writeFileSync(a, 'a');
      writeFileSync(b, 'b');
      const early = fsyncSignal(a);
      expect(early.fence).toBeDefined();
      const res = await syncThenLink([b], { wait: early.fence, from: `${d}/a`, to: `${d}/a2`, dir: d });
      expect(await early.done).toBe(null);
      expect(res).toEqual({ fsync: [null], waited: null, link: null, dir: null, unlink: [] });
      expect(readFileSync(`${d}/a2`, 'latin1')).toBe('a');
      // the awaited fsync failed (a pipe: EINVAL): no link
      const bad = fsyncSignal(r);
      const res2 = await syncThenLink([b], { wait: bad.fence, from: `${d}/a`, to: `${d}/a3`, dir: d, unlink: [`${d}/b`] });
      expect((await bad.done)?.code).toBe('EINVAL');
      expect([res2.waited?.code, res2.link?.code, res2.dir?.code, res2.unlink[0]?.code]).toEqual(['EINVAL', 'ECANCELED', 'ECANCELED', 'ECANCELED']);
      expect(existsSync(`${d}/a3`)).toBe(false);
      expect(existsSync(`${d}/b`)).toBe(true);
      // the link fails (the name exists): no directory fsync; and without a fence nothing is awaited
      const res3 = await syncThenLink([b], { from: `${d}/a`, to: `${d}/a2`, dir: d, unlink: [`${d}/b`] });
      expect([res3.fsync[0], res3.waited, res3.link?.code, res3.dir?.code, res3.unlink[0]?.code]).toEqual([null, null, 'EEXIST', 'ECANCELED', 'ECANCELED']);
      // everything succeeds: then the unlinks, in order (the maildir's tmp/NAME after its link into new/)
      writeFileSync(`${d}/c`, 'c');
      const res4 = await syncThenLink([b], { from: `${d}/c`, to: `${d}/c2`, dir: d, unlink: [`${d}/c`, `${d}/none`] });
      expect([res4.link, res4.dir, res4.unlink[0], res4.unlink[1]?.code]).toEqual([null, null, null, 'ENOENT']);
      expect([existsSync(`${d}/c`), readFileSync(`${d}/c2`, 'latin1')]).toEqual([false, 'c']);
      // many at once: every waiting job is answered
      const many = await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const e = fsyncSignal(a);
          const x = await syncThenLink([b], { wait: e.fence, from: `${d}/a`, to: `${d}/m${i}`, dir: d });
          await e.done;
          return x.link;
        }),
      );
      expect(many.every((x) => x === null)).toBe(true);
    } finally {
      for (const fd of [a, b, r, w]) closeSync(fd);
    }
  });

  it('syncThenUnlink: unlinks in order once every fsync succeeded; ENOENT counts as done, another failure stops the chain', async () => {
    const d = tmpdir('syncunlink-');
    const a = openSync(`${d}/a`, 'w');
    const [r, w] = sys.pipe();
    try {
      for (const n of ['x', 'y', 'z']) writeFileSync(`${d}/${n}`, n);
      mkdirSync(`${d}/dir`);
      expect(await syncThenUnlink([a], [`${d}/x`, `${d}/none`, `${d}/y`])).toEqual([[null], [null, expect.objectContaining({ code: 'ENOENT' }), null]]);
      expect(existsSync(`${d}/x`) || existsSync(`${d}/y`)).toBe(false);
      // a failed fsync: nothing unlinked
      const [f, u] = await syncThenUnlink([a, r], [`${d}/z`]);
      expect([f[0], f[1]?.code, u[0]?.code]).toEqual([null, 'EINVAL', 'ECANCELED']);
      expect(existsSync(`${d}/z`)).toBe(true);
      // a failed unlink (a directory: EISDIR) stops the chain
      const [, u2] = await syncThenUnlink([], [`${d}/dir`, `${d}/z`]);
      expect([u2[0]?.code, u2[1]?.code]).toEqual(['EISDIR', 'ECANCELED']);
      expect(existsSync(`${d}/z`)).toBe(true);
      expect(() => sys.syncUnlink([], [1 as unknown as string], () => undefined)).toThrow(TypeError);
    } finally {
      for (const fd of [a, r, w]) closeSync(fd);
    }
  });
});
