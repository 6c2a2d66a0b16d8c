/**
 * qmail-inject as a program: options, exit codes and messages, and the
 * message and envelope it queues, byte for byte, both into a real queue
 * (QMAILHOME in a tmpdir, in-process queueing) and through $QMAILQUEUE
 * (a capture script), plus mailsubj and datemail on top of it.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, readdirSync, writeFileSync, chmodSync } from 'node:fs';
import { execa } from 'execa';
import { ours, tmpdir } from './helpers.ts';
import { queueCreate } from '../src/lib/queue/create.ts';

function home(): string {
  const h = tmpdir('qinjp-');
  mkdirSync(`${h}/control`);
  writeFileSync(`${h}/control/me`, 'me.example\n');
  return h;
}

/** A QMAILQUEUE program that saves its fd 0 and fd 1 into DIR/msg, DIR/env and exits CODE. */
function capture(dir: string, code = 0): string {
  const p = `${dir}/qq`;
  writeFileSync(p, `#!/bin/sh\ncat > ${dir}/msg\ncat 0<&1 1>${dir}/env\nexit ${code}\n`);
  chmodSync(p, 0o755);
  return p;
}

const inject = (h: string, args: string[], input: string, env: Record<string, string> = {}) =>
  execa(ours('qmail-inject'), args, { input: Buffer.from(input, 'latin1'), env: { QMAILHOME: h, USER: 'djb', ...env }, extendEnv: false, reject: false, stripFinalNewline: false, encoding: 'latin1' });

const HDR = /^Date: \d+ \w{3} \d{4} \d\d:\d\d:\d\d -0000\nMessage-ID: <\d{14}\.(\d+)\.qmail@me\.example>\n/;

describe('qmail-inject program', () => {
  it('-n prints; the pid in Message-ID is the program\'s', async () => {
    const h = home();
    const r = await inject(h, ['-n', 'x@y.z'], 'Subject: s\n\nhello\n');
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    const out = r.stdout as string;
    expect(out.startsWith('Return-Path: <djb@me.example>\n')).toBe(true);
    const rest = out.slice(out.indexOf('\n') + 1);
    expect(rest).toMatch(HDR);
    expect(rest.replace(HDR, '')).toBe('From: djb@me.example\nCc: recipient list not shown: ;\nSubject: s\n\nhello\n');
  });
  it('queues message and envelope into the real queue, byte for byte', async () => {
    const h = home();
    queueCreate(h, 3);
    const r = await inject(h, ['-f', 'bounce@b.example', 'a@x.example', 'b@y.example'], 'To: c@z.example\nBcc: d@w.example\n\nbody\xe9\n', { NAME: 'Dan' });
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
    const todo = readdirSync(`${h}/queue/todo`);
    expect(todo.length).toBe(1);
    const n = Number(todo[0]);
    const mess = readFileSync(`${h}/queue/mess/${n % 3}/${n}`, 'latin1');
    const intd = readFileSync(`${h}/queue/todo/${n}`, 'latin1');
    const m = /^Received: \(qmail (\d+) invoked by uid (\d+)\); \d+ \w{3} \d{4} \d\d:\d\d:\d\d -0000\n/.exec(mess)!;
    expect(m).not.toBeNull();
    expect(intd).toBe(`u${m[2]}\0p${m[1]}\0Fbounce@b.example\0Ta@x.example\0Tb@y.example\0`);
    const body = mess.slice(m[0].length);
    expect(body).toMatch(HDR);
    expect(body.replace(HDR, '')).toBe('From: "Dan" <djb@me.example>\nTo: c@z.example\n\nbody\xe9\n');
  });
  it('no recipients at all: queued anyway, as the original (qmail-send completes it)', async () => {
    const h = home();
    queueCreate(h, 1);
    const r = await inject(h, [], 'Subject: x\n\n');
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
    const todo = readdirSync(`${h}/queue/todo`);
    expect(readFileSync(`${h}/queue/todo/${todo[0]}`, 'latin1')).toMatch(/^u\d+\0p\d+\0Fdjb@me\.example\0$/);
  });
  it('through $QMAILQUEUE: the envelope with header recipients (Bcc too)', async () => {
    const h = home();
    const d = tmpdir('qinjq-');
    const r = await inject(h, [], 'To: c@z.example, e\nBcc: d@w.example\n\nx\n', { QMAILQUEUE: capture(d) });
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
    expect(readFileSync(`${d}/env`, 'latin1')).toBe('Fdjb@me.example\0Te@me.example\0Tc@z.example\0Td@w.example\0\0');
    expect(readFileSync(`${d}/msg`, 'latin1')).toMatch(/\nTo: c@z\.example, e@me\.example\n\nx\n$/);
  });
  it('queue refusals: D -> 100, Z -> 111, with qmail_close()\'s text', async () => {
    const h = home();
    const d = tmpdir('qinjq-');
    let r = await inject(h, ['a@b.c'], '\n', { QMAILQUEUE: capture(d, 31) });
    expect([r.exitCode, r.stderr]).toEqual([100, 'qmail-inject: fatal: mail server permanently rejected message (#5.3.0)\n']);
    r = await inject(h, ['a@b.c'], '\n', { QMAILQUEUE: capture(d, 71) });
    expect([r.exitCode, r.stderr]).toEqual([111, 'qmail-inject: fatal: mail server temporarily rejected message (#4.3.0)\n']);
    r = await inject(h, ['a@b.c'], '\n', { QMAILQUEUE: `${d}/missing` });
    expect([r.exitCode, r.stderr]).toEqual([111, 'qmail-inject: fatal: unable to exec qq (#4.3.0)\n']);
  });
  it('-n passes an 8 MB body through byte for byte', async () => {
    const h = home();
    const body = Buffer.alloc(8 << 20);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 255;
    const r = await execa(ours('qmail-inject'), ['-n', 'a@b.c'], { input: Buffer.concat([Buffer.from('Subject: s\n\n'), body, Buffer.from('\n')]), env: { QMAILHOME: h }, extendEnv: false, encoding: 'buffer', stripFinalNewline: false });
    const out = Buffer.from(r.stdout as unknown as Uint8Array);
    expect(out.subarray(out.length - body.length - 1).equals(Buffer.concat([body, Buffer.from('\n')]))).toBe(true);
    expect(out.subarray(0, out.length - body.length - 1).toString('latin1')).toMatch(/\nSubject: s\n\n$/);
  });
  it('usage and input errors', async () => {
    const h = home();
    let r = await inject(h, ['-z'], '');
    expect([r.exitCode, r.stderr, r.stdout]).toEqual([100, 'qmail-inject: illegal option -- z\n', '']);
    r = await inject(h, ['-n', '-f'], '');
    expect([r.exitCode, r.stderr]).toEqual([100, 'qmail-inject: option requires an argument -- f\n']);
    r = await inject(h, ['-n'], 'From: (x\n\n');
    expect([r.exitCode, r.stderr, r.stdout]).toEqual([100, 'qmail-inject: fatal: unable to parse this line:\nFrom: (x\n', '']);
    r = await inject(h, ['-n', 'a@[b'], '\n');
    expect([r.exitCode, r.stderr]).toEqual([100, 'qmail-inject: fatal: unable to parse address: a@[b\n']);
    r = await inject(`${h}/nonexistent`, ['-n'], '\n');
    expect([r.exitCode, r.stderr]).toEqual([111, 'qmail-inject: fatal: internal bug\n']);
    mkdirSync(`${h}/control/defaulthost`);
    r = await inject(h, ['-n'], '\n');
    expect([r.exitCode, r.stderr]).toEqual([111, 'qmail-inject: fatal: read error\n']);
  });
});

describe('mailsubj and datemail', () => {
  it('mailsubj: Subject and To lines, recipients from the header', async () => {
    const h = home();
    const d = tmpdir('qinjq-');
    const r = await execa(ours('mailsubj'), ['hello there', 'a@b.example', 'c@d.example'], { input: 'body\n', env: { QMAILHOME: h, USER: 'u', QMAILQUEUE: capture(d) }, extendEnv: false, reject: false });
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
    expect(readFileSync(`${d}/env`, 'latin1')).toBe('Fu@me.example\0Tc@d.example\0Ta@b.example\0\0');
    expect(readFileSync(`${d}/msg`, 'latin1')).toMatch(/\nFrom: u@me\.example\nSubject: hello there\nTo: a@b\.example, c@d\.example\n\nbody\n$/);
    const u = await execa(ours('mailsubj'), [], { env: { QMAILHOME: h }, reject: false, input: '' });
    expect([u.exitCode, u.stderr]).toEqual([100, 'mailsubj: usage: mailsubj subject recip ...']);
  });
  it('datemail: a local-time Date line, then sendmail', async () => {
    const h = home();
    const d = tmpdir('qinjq-');
    const r = await execa(ours('datemail'), ['-t'], { input: 'To: x@y.example\n\nb\n', env: { QMAILHOME: h, USER: 'u', TZ: 'EST5', QMAILQUEUE: capture(d) }, extendEnv: false, reject: false });
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
    const msg = readFileSync(`${d}/msg`, 'latin1');
    expect(msg).toMatch(/^Message-ID: <[^>]+>\nFrom: u@me\.example\nDate: \d+ \w{3} \d{4} \d\d:\d\d:\d\d -0500\nTo: x@y\.example\n\nb\n$/);
    expect(readFileSync(`${d}/env`, 'latin1')).toBe('Fu@me.example\0Tx@y.example\0\0');
  });
});
