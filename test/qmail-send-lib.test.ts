/**
 * qmail-send's library pieces, unit by unit: address rewriting (locals,
 * percenthack, virtualdomains with exceptions and wildcards, envnoathost,
 * stripvdomprepend), the retry schedule of LWQ E.1, logsafe, the bounce
 * paragraph and head texts (notqmail's strings), bounce plans, the priority
 * queue, qmail-rspawn's report translation, and qmail-clean's requests
 * (library and real process).
 */
import { describe, expect, it } from 'vitest';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { sys } from '../src/lib/native.ts';
import { encodeCommand, ReportParser } from '../src/lib/spawn/protocol.ts';
import { execa } from 'execa';
import { makeMaps, rewrite, stripVdomPrepend } from '../src/lib/send/rewrite.ts';
import { isqrt, nextRetry } from '../src/lib/send/retry.ts';
import { logsafe } from '../src/lib/send/logline.ts';
import { bounceHead, bounceParagraph, bouncePlan } from '../src/lib/send/bounce.ts';
import { Prioq } from '../src/lib/send/prioq.ts';
import { remoteReport } from '../src/lib/rspawn/report.ts';
import { canClean, cleanAfter, cleanRequest, cleanupPid } from '../src/lib/send/clean.ts';
import { CleanClient } from '../src/lib/send/pipes.ts';
import { queueCreate } from '../src/lib/queue/create.ts';
import { ours, tmpdir } from './helpers.ts';

describe('rewrite', () => {
  const m = makeMaps(['here.example', 'Local.Example'], ['relay.example'], ['virt.example:v', 'joe@v2.example:vj', '.wild.example:w', 'no.wild.example:', ':catch'], 'here.example');
  const rw = (a: string): string => {
    const r = rewrite(a, m);
    return `${r.channel ? 'remote' : 'local'} ${r.addr}`;
  };
  it('locals are local unchanged, case-insensitively; envnoathost completes bare names', () => {
    expect(rw('joe@here.example')).toBe('local joe@here.example');
    expect(rw('Joe@LOCAL.example')).toBe('local Joe@LOCAL.example');
    expect(rw('joe')).toBe('local joe@here.example');
  });
  it('percenthack applies repeatedly, before locals', () => {
    expect(rw('a%b%here.example@relay.example')).toBe('local a%b@here.example');
    expect(rw('a%relay.example@relay.example')).toBe('local catch-a@relay.example');
    expect(rw('a%b@here.example')).toBe('local a%b@here.example'); // here.example has no percenthack
  });
  it('virtualdomains: user@domain first, then domain, then .suffixes, exceptions, catch-all', () => {
    expect(rw('info@virt.example')).toBe('local v-info@virt.example');
    expect(rw('joe@v2.example')).toBe('local vj-joe@v2.example');
    expect(rw('x@a.wild.example')).toBe('local w-x@a.wild.example');
    expect(rw('x@no.wild.example')).toBe('remote x@no.wild.example');
    expect(rw('x@elsewhere.example')).toBe('local catch-x@elsewhere.example');
    expect(rw('x@VIRT.example')).toBe('local v-x@VIRT.example');
  });
  it('without a catch-all, other domains are remote', () => {
    const m2 = makeMaps(['here.example'], [], [], 'here.example');
    expect(rewrite('x@far.example', m2)).toEqual({ channel: 1, addr: 'x@far.example' });
  });
  it('stripvdomprepend undoes the domain prepend for bounces', () => {
    expect(stripVdomPrepend('v-info@virt.example', m)).toBe('info@virt.example');
    expect(stripVdomPrepend('w-x@a.wild.example', m)).toBe('x@a.wild.example');
    expect(stripVdomPrepend('joe@here.example', m)).toBe('joe@here.example');
  });
});

describe('retry schedule (LWQ E.1)', () => {
  it('local attempts at 0, 100, 400, 900 ... s; remote at 0, 400, 1600, 3600 ... s', () => {
    const b = 1_000_000;
    expect(nextRetry(b, b, 10)).toBe(b + 100);
    expect(nextRetry(b, b + 100, 10)).toBe(b + 400);
    expect(nextRetry(b, b + 399, 10)).toBe(b + 29 * 29);
    expect(nextRetry(b, b, 20)).toBe(b + 400);
    expect(nextRetry(b, b + 400, 20)).toBe(b + 1600);
    expect(nextRetry(b, b - 5, 10)).toBe(b + 100); // birth in the future
    for (const x of [0, 1, 3, 4, 99, 100, 2 ** 31, 604800]) expect(isqrt(x) ** 2 <= x && (isqrt(x) + 1) ** 2 > x).toBe(true);
  });
});

describe('log text', () => {
  it('logsafe: newline -> /, % and non-printables -> _', () => {
    expect(logsafe('a b%c\nd\x01\xe9~')).toBe('a_b_c/d__~');
    expect(logsafe('plain')).toBe('plain');
  });
});

describe('bounces (QSBMF)', () => {
  it('paragraphs: recipient, report, empty lines as /, final blank line', () => {
    expect(bounceParagraph('joe@x', 'no such list')).toBe('<joe@x>:\nno such list\n\n');
    expect(bounceParagraph('a\nb@x', 'one\n\ntwo\n')).toBe('<a_b@x>:\none\n/two\n\n');
    expect(bounceParagraph('joe@x', '')).toBe('<joe@x>:\n\n');
  });
  it('plans: single, double, triple (discard), VERP sender', () => {
    expect(bouncePlan('s@x', 'postmaster@h')).toEqual({ sender: '', recip: 's@x', double: false });
    expect(bouncePlan('', 'postmaster@h')).toEqual({ sender: '#@[]', recip: 'postmaster@h', double: true });
    expect(bouncePlan('#@[]', 'postmaster@h')).toBe('discard');
    expect(bouncePlan('owner-@list.x-@[]', 'p@h')).toEqual({ sender: '', recip: 'owner-@list.x', double: false });
  });
  it('head: notqmail texts byte for byte', () => {
    const p = bouncePlan('s@x.example', 'pm@h') as Exclude<ReturnType<typeof bouncePlan>, 'discard'>;
    expect(bounceHead(p, 's@x.example', 'MAILER-DAEMON', 'h.example', '<r@y>:\nbad\n\n', 0)).toBe(
      'Date: 1 Jan 1970 00:00:00 -0000\nFrom: MAILER-DAEMON@h.example\nTo: s@x.example\nSubject: failure notice\n\n' +
        'Hi. This is the qmail-send program at h.example.\n' +
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n" +
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n" +
        '<r@y>:\nbad\n\n--- Below this line is a copy of the message.\n\nReturn-Path: <s@x.example>\n',
    );
    const d = bouncePlan('', 'pm@h') as Exclude<ReturnType<typeof bouncePlan>, 'discard'>;
    expect(bounceHead(d, '', 'MAILER DAEMON', 'h', '', 0)).toBe(
      'Date: 1 Jan 1970 00:00:00 -0000\nFrom: "MAILER DAEMON"@h\nTo: pm@h\nSubject: failure notice\n\n' +
        'Hi. This is the qmail-send program at h.\nI tried to deliver a bounce message to this address, but the bounce bounced!\n\n' +
        '--- Below this line is the original bounce.\n\nReturn-Path: <>\n',
    );
  });
});

describe('prioq', () => {
  it('yields entries by time', () => {
    const q = new Prioq();
    const ts = [5, 1, 9, 3, 3, 7, 0, 2];
    ts.forEach((dt, id) => q.insert({ id, dt }));
    const out: number[] = [];
    for (let e = q.delmin(); e; e = q.delmin()) out.push(e.dt);
    expect(out).toEqual([...ts].sort((a, b) => a - b));
  });
});

describe('qmail-rspawn report()', () => {
  const r = (code: number, s: string, crashed = false): string => {
    const x = remoteReport({ code, crashed }, Buffer.from(s, 'latin1'));
    return x.status + x.text;
  };
  it('recipient and message reports', () => {
    expect(r(0, 'rok\0Kdone\0')).toBe('Kokdone');
    expect(r(0, 'hno\0Dbye\0')).toBe('Dnobye');
    expect(r(0, 'stry later\0Kqueued\0')).toBe('Ztry later');
    expect(r(0, 'Zconnect failed\0')).toBe('Zconnect failed');
    expect(r(0, 'Dbad host\0')).toBe('Dbad host');
    expect(r(0, 'rok\0Zlost\0')).toBe('Zoklost');
  });
  it('fixed texts for crashes, exit codes, no output', () => {
    expect(r(0, '', true)).toBe('Zqmail-remote crashed.\n');
    expect(r(111, 'x')).toBe('ZUnable to run qmail-remote.\n');
    expect(r(100, 'x')).toBe('DUnable to run qmail-remote.\n');
    expect(r(0, '')).toBe('Zqmail-remote produced no output.\n');
  });
});

describe('qmail-rspawn as a program', () => {
  it('greets with 120, runs $QMAILREMOTE host sender recip on the message, reports; clears lock/tcpto', async () => {
    const d = tmpdir('qmr-');
    const qh = `${d}/qh`;
    queueCreate(qh, 3, { ids: { users: {} as never, groups: {} as never } });
    writeFileSync(`${qh}/queue/mess/1/4`, 'Subject: s\n\nbody\n');
    writeFileSync(`${qh}/queue/lock/tcpto`, Buffer.alloc(1024, 7));
    writeFileSync(`${d}/remote`, '#!/bin/sh\nprintf "r%s %s %s %s\\0K\\0" "$1" "$2" "$3" "$(wc -c)"\n', { mode: 0o755 });
    const input = Buffer.concat([
      encodeCommand({ delnum: 0, messid: '1/4', sender: 's@a.example', recipient: 'r@b.example' }),
      encodeCommand({ delnum: 1, messid: '1/99', sender: '', recipient: 'r@b.example' }),
      encodeCommand({ delnum: 2, messid: '1/4', sender: '', recipient: 'nohost' }),
    ]);
    const r = await execa(ours('qmail-rspawn'), [], { input, env: { QMAILHOME: qh, QMAILREMOTE: `${d}/remote`, PATH: process.env.PATH }, encoding: 'buffer', reject: false });
    const out = r.stdout as unknown as Buffer;
    expect(r.exitCode).toBe(0);
    expect(out[0]).toBe(120);
    const reps = new Map(new ReportParser().push(out.subarray(1)).map((x) => [x.delnum, x.status + x.text]));
    expect(reps.get(0)).toBe('Kb.example s@a.example r@b.example 17');
    expect(reps.get(1)).toBe('Zqmail-spawn unable to open message. (#4.3.0)\n');
    expect(reps.get(2)).toBe('DSorry, address must include host name. (#5.1.3)\n');
    expect(readFileSync(`${qh}/queue/lock/tcpto`).equals(Buffer.alloc(1024))).toBe(true);
  });
});

describe('qmail-clean', () => {
  function queue(): string {
    const d = tmpdir('qmc-');
    queueCreate(`${d}/qh`, 3, { ids: { users: {} as never, groups: {} as never } });
    return `${d}/qh`;
  }
  it('foop/N and todo/N unlink their files; bad requests get x', async () => {
    const qh = queue();
    const q = `${qh}/queue`;
    writeFileSync(`${q}/mess/1/7`, 'm');
    writeFileSync(`${q}/intd/7`, 'e');
    writeFileSync(`${q}/todo/7`, 'e');
    expect(await cleanRequest(q, 'todo/7', 3)).toBe('+');
    expect(existsSync(`${q}/todo/7`) || existsSync(`${q}/intd/7`)).toBe(false);
    expect(existsSync(`${q}/mess/1/7`)).toBe(true);
    expect(await cleanRequest(q, 'foop/7', 3)).toBe('+');
    expect(existsSync(`${q}/mess/1/7`)).toBe(false);
    expect(await cleanRequest(q, 'foop/7', 3)).toBe('+'); // already gone is fine
    for (const bad of ['foo/7', 'foop/', 'foop/7x', 'mess/7', 'todo/' + '9'.repeat(100)]) expect(await cleanRequest(q, bad, 3)).toBe('x');
    mkdirSync(`${q}/intd/8`);
    writeFileSync(`${q}/intd/8/x`, '');
    expect(await cleanRequest(q, 'todo/8', 3)).toBe('!');
  });
  it('cleanAfter: fsyncs and earlier unlinks first, in one job; the request only once they succeeded', async () => {
    const qh = queue();
    const q = `${qh}/queue`;
    for (const f of ['mess/1/7', 'intd/7', 'info/1/7', 'local/1/7']) writeFileSync(`${q}/${f}`, 'x');
    const fd = openSync(`${q}/info/1/7`, 'r+');
    try {
      // the message's end: local, info, then intd and mess
      const o = await cleanAfter(q, 'foop/7', 3, [fd], [`${q}/local/1/7`, `${q}/info/1/7`]);
      expect(o).toEqual({ fsync: [null], before: [null, null], answer: '+' });
      expect(['mess/1/7', 'intd/7', 'info/1/7', 'local/1/7'].filter((f) => existsSync(`${q}/${f}`))).toEqual([]);
      // an earlier unlink that fails (a directory) stops everything after it
      writeFileSync(`${q}/mess/1/7`, 'm');
      mkdirSync(`${q}/info/1/7`);
      const o2 = await cleanAfter(q, 'foop/7', 3, [], [`${q}/info/1/7`]);
      expect([o2.before[0]?.code, o2.answer]).toEqual(['EISDIR', '']);
      expect(existsSync(`${q}/mess/1/7`)).toBe(true);
      // no request: only the earlier steps
      expect(await cleanAfter(q, undefined, 3, [fd], [])).toEqual({ fsync: [null], before: [], answer: '' });
    } finally {
      closeSync(fd);
    }
  });
  it("qmail-send does qmail-clean's unlinks itself when the queue is its own (CleanClient direct), with the same answers", async () => {
    const qh = queue();
    const q = `${qh}/queue`;
    expect(canClean(q, 3)).toBe(true);
    const [r1, w1] = sys.pipe();
    const [r2, w2] = sys.pipe();
    let died = false;
    const c = new CleanClient(w1, r2, () => (died = true), { queue: q, split: 3 });
    try {
      writeFileSync(`${q}/mess/1/7`, 'm');
      writeFileSync(`${q}/intd/7`, 'e');
      writeFileSync(`${q}/todo/7`, 'e');
      const old = Date.now() / 1000 - 129700;
      writeFileSync(`${q}/pid/old`, '');
      utimesSync(`${q}/pid/old`, old, old);
      expect(await c.request('todo/7')).toBe('+');
      expect(existsSync(`${q}/todo/7`) || existsSync(`${q}/intd/7`)).toBe(false);
      expect(existsSync(`${q}/pid/old`)).toBe(false); // the pid/ sweep of the first request
      expect(await c.request('foop/7')).toBe('+');
      expect(existsSync(`${q}/mess/1/7`)).toBe(false);
      expect(await c.request('junk')).toBe('x');
      expect(c.pending).toBe(0);
      expect(died).toBe(false);
    } finally {
      c.close();
      for (const fd of [r1, w2]) closeSync(fd);
    }
    chmodSync(`${q}/intd`, 0o500);
    try {
      expect(canClean(q, 3)).toBe(process.getuid?.() === 0); // root may write anyway
    } finally {
      chmodSync(`${q}/intd`, 0o700);
    }
  });
  it('sweeps pid/ files older than 36 hours', () => {
    const qh = queue();
    const q = `${qh}/queue`;
    writeFileSync(`${q}/pid/old`, '');
    writeFileSync(`${q}/pid/new`, '');
    const t = Date.now() / 1000 - 129700;
    utimesSync(`${q}/pid/old`, t, t);
    cleanupPid(q, Date.now() / 1000);
    expect([existsSync(`${q}/pid/old`), existsSync(`${q}/pid/new`)]).toEqual([false, true]);
  });
  it('as a program: one answer byte per NUL-terminated request, exit 0 at EOF', async () => {
    const qh = queue();
    writeFileSync(`${qh}/queue/mess/2/5`, 'm');
    const r = await execa(ours('qmail-clean'), [], { input: 'foop/5\0junk\0todo/5\0', env: { QMAILHOME: qh }, reject: false });
    expect([r.exitCode, r.stdout]).toEqual([0, '+x+']);
    expect(existsSync(`${qh}/queue/mess/2/5`)).toBe(false);
    // answers in request order, whichever unlink finishes first (the x is ready at once; 300 requests at a time)
    mkdirSync(`${qh}/queue/intd/8`);
    writeFileSync(`${qh}/queue/intd/8/x`, '');
    const many: string[] = [];
    let want = '';
    for (let i = 0; i < 100; i++) {
      writeFileSync(`${qh}/queue/mess/${(1000 + i) % 3}/${1000 + i}`, 'm');
      many.push(`foop/${1000 + i}`, 'junk', 'todo/8');
      want += '+x!';
    }
    const r2 = await execa(ours('qmail-clean'), [], { input: many.join('\0') + '\0', env: { QMAILHOME: qh }, reject: false });
    expect([r2.exitCode, r2.stdout]).toEqual([0, want]);
    for (let i = 0; i < 100; i++) expect(existsSync(`${qh}/queue/mess/${(1000 + i) % 3}/${1000 + i}`)).toBe(false);
    const bad = await execa(ours('qmail-clean'), [], { input: '', env: { QMAILHOME: `${qh}/nonexistent` }, reject: false });
    expect(bad.exitCode).toBe(111);
  });
});
