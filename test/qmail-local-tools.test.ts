/**
 * The small delivery helpers (preline, forward, condredirect, bouncesaying,
 * except) and the account tools (qmail-newu, qmail-getpw rules) as the man
 * pages and qmail's texts describe them.
 */
import { describe, expect, it } from 'vitest';
import { chownSync, mkdirSync, readFileSync, readdirSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { execa } from 'execa';
import { fdStdin, isRoot, ours, tmpdir, theirs } from './helpers.ts';
import { Tree } from './local-helpers.ts';
import { getpw, PasswdCache, QlxError, formatNughde } from '../src/lib/local/getpw.ts';
import { assignRecords } from '../src/lib/local/assign.ts';
import { parseQueuedEnvelope } from '../src/lib/queue/envelope.ts';
import { quote2 } from '../src/lib/local/quote.ts';

const LINES = { UFLINE: 'From s@x Thu May 13 18:34:50 1999\n', RPLINE: 'Return-Path: <s@x>\n', DTLINE: 'Delivered-To: joe@example.com\n' };

async function run(prog: string, args: string[], env: Record<string, string>, input = 'Subject: t\n\nbody\n') {
  const d = tmpdir();
  writeFileSync(`${d}/in`, input);
  const fd = openSync(`${d}/in`, 'r');
  try {
    const r = await execa(ours(prog), args, { stdin: fdStdin(fd), env: { PATH: process.env.PATH!, ...env }, extendEnv: false, reject: false, stripFinalNewline: false });
    return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  } finally {
    closeSync(fd);
  }
}

describe('preline', () => {
  it('prepends UFLINE, RPLINE, DTLINE; -f -r -d leave them out; exit code passes through', async () => {
    expect(await run('preline', ['cat'], LINES)).toMatchObject({ code: 0, stdout: `${LINES.UFLINE}${LINES.RPLINE}${LINES.DTLINE}Subject: t\n\nbody\n` });
    expect((await run('preline', ['-fd', 'cat'], LINES)).stdout).toBe(`${LINES.RPLINE}Subject: t\n\nbody\n`);
    expect((await run('preline', ['-fdrR', 'cat'], LINES)).stdout).toBe(`${LINES.RPLINE}Subject: t\n\nbody\n`);
    expect((await run('preline', ['sh', '-c', 'cat >/dev/null; exit 77'], LINES)).code).toBe(77);
  });
  it('usage and failures', async () => {
    expect(await run('preline', ['cat'], {})).toMatchObject({ code: 100, stderr: 'preline: usage: preline cmd [ arg ... ]\n' });
    expect(await run('preline', [], LINES)).toMatchObject({ code: 100, stderr: 'preline: usage: preline cmd [ arg ... ]\n' });
    expect(await run('preline', ['/nonexistent/x'], LINES)).toMatchObject({ code: 100, stderr: 'preline: fatal: unable to run /nonexistent/x: file does not exist\n' });
  });
});

describe('bouncesaying, except', () => {
  it('bouncesaying prints its text and exits 100, or runs a test program first', async () => {
    expect(await run('bouncesaying', ['Sorry, no.'], {})).toMatchObject({ code: 100, stderr: 'Sorry, no.\n' });
    expect(await run('bouncesaying', ['Sorry.', 'true'], {})).toMatchObject({ code: 100, stderr: 'Sorry.\n' });
    expect(await run('bouncesaying', ['Sorry.', 'false'], {})).toMatchObject({ code: 0, stderr: '' });
    expect(await run('bouncesaying', ['Sorry.', 'sh', '-c', 'exit 111'], {})).toMatchObject({ code: 111, stderr: 'bouncesaying: fatal: temporary child error\n' });
    expect(await run('bouncesaying', [], {})).toMatchObject({ code: 100, stderr: 'bouncesaying: usage: bouncesaying error [ program [ arg ... ] ]\n' });
  });
  it('except inverts 0 and non-0, keeps 111', async () => {
    expect((await run('except', ['true'], {})).code).toBe(100);
    expect((await run('except', ['false'], {})).code).toBe(0);
    expect(await run('except', ['sh', '-c', 'exit 111'], {})).toMatchObject({ code: 111, stderr: 'except: fatal: temporary child error\n' });
    expect(await run('except', ['sh', '-c', 'kill -9 $$'], {})).toMatchObject({ code: 111, stderr: 'except: fatal: child crashed\n' });
    expect(await run('except', [], {})).toMatchObject({ code: 100, stderr: 'except: usage: except program [ arg ... ]\n' });
  });
});

describe('forward, condredirect', () => {
  it('forward queues DTLINE + message from NEWSENDER to its arguments', async () => {
    const t = new Tree();
    const r = await run('forward', ['a@example.org', 'b@example.org'], { ...LINES, NEWSENDER: 'owner@example.com', QMAILHOME: t.qh });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^forward: qp \d+\n$/);
    const [id] = readdirSync(`${t.qh}/queue/todo`);
    const env = parseQueuedEnvelope(readFileSync(`${t.qh}/queue/todo/${id}`))!;
    expect([String(env.sender), ...env.recipients.map(String)]).toEqual(['owner@example.com', 'a@example.org', 'b@example.org']);
    expect(readFileSync(`${t.qh}/queue/mess/0/${id}`, 'latin1')).toMatch(/\nDelivered-To: joe@example.com\nSubject: t\n\nbody\n$/);
    expect(await run('forward', ['x@y'], { DTLINE: 'x' })).toMatchObject({ code: 100, stderr: 'forward: fatal: NEWSENDER not set\n' });
  });
  it('condredirect redirects (99) when the program exits 0, not otherwise', async () => {
    const t = new Tree();
    const env = { ...LINES, SENDER: 's@x', QMAILHOME: t.qh };
    expect(await run('condredirect', ['new@example.org', 'false'], env)).toMatchObject({ code: 0, stderr: '' });
    expect(await run('condredirect', ['new@example.org', 'sh', '-c', 'exit 111'], env)).toMatchObject({ code: 111, stderr: 'condredirect: fatal: temporary child error\n' });
    expect(readdirSync(`${t.qh}/queue/todo`)).toEqual([]);
    const r = await run('condredirect', ['new@example.org', 'sh', '-c', 'cat >/dev/null'], env);
    expect(r.code).toBe(99);
    expect(r.stderr).toMatch(/^condredirect: qp \d+\n$/);
    const [id] = readdirSync(`${t.qh}/queue/todo`);
    expect(readFileSync(`${t.qh}/queue/mess/0/${id}`, 'latin1')).toMatch(/\nDelivered-To: joe@example.com\nSubject: t\n\nbody\n$/);
    expect(await run('condredirect', ['x'], env)).toMatchObject({ code: 100, stderr: 'condredirect: usage: condredirect newaddress program [ arg ... ]\n' });
  });
});

describe('qmail-newu and users/cdb', () => {
  it('records as qmail-users(5) specifies, byte-compatible cdb (tinycdb reads it)', async () => {
    const recs = assignRecords(Buffer.from('=Joe.Shmoe:joe:503:78:/home/joe:::\n+joe-:joe:507:100:/home/joe:-::\n+:alias:7790:2108:/var/qmail/alias:-::\n.\n'));
    expect(recs.map(([k, v]) => [k.toString('latin1'), v.toString('latin1')])).toEqual([
      ['!joe.shmoe\0', 'joe\0' + '503\0' + '78\0/home/joe\0\0'],
      ['!joe-', 'joe\0' + '507\0' + '100\0/home/joe\0-\0'],
      ['!', 'alias\0' + '7790\0' + '2108\0/var/qmail/alias\0-\0'],
      ['', '-'],
    ]);
    const d = tmpdir();
    mkdirSync(`${d}/users`);
    writeFileSync(`${d}/users/assign`, '=joe:joe:1:2:/h:::\n.\n');
    expect((await execa(ours('qmail-newu'), [], { env: { QMAILHOME: d }, reject: false })).exitCode).toBe(0);
    const cdb = theirs('cdb');
    if (cdb) expect((await execa(cdb, ['-d', `${d}/users/cdb`], { encoding: 'latin1' })).stdout).toBe('+5,12:!joe\0->joe\x001\x002\0/h\0\0\n+0,0:->\n');
    writeFileSync(`${d}/users/assign`, '=joe:joe:1:2:/h::\n.\n');
    expect(await execa(ours('qmail-newu'), [], { env: { QMAILHOME: d }, reject: false })).toMatchObject({ exitCode: 111, stderr: 'qmail-newu: fatal: bad format in users/assign' });
    writeFileSync(`${d}/users/assign`, '=joe:joe:1:2:/h:::\n');
    expect((await execa(ours('qmail-newu'), [], { env: { QMAILHOME: d }, reject: false })).stderr).toBe('qmail-newu: fatal: bad format in users/assign');
    expect((await execa(ours('qmail-newu'), [], { env: { QMAILHOME: `${d}/none` }, reject: false })).stderr).toBe('qmail-newu: fatal: unable to chdir');
  });
});

describe('qmail-getpw rules', () => {
  it('longest account prefix before a dash, home owned by it, never uid 0, else alias', () => {
    const d = tmpdir();
    const me = process.getuid!();
    const uid = isRoot ? 4321 : me;
    for (const h of ['joe', 'joebob', 'alias', 'notowned']) mkdirSync(`${d}/${h}`);
    if (isRoot) for (const h of ['joe', 'joebob', 'alias']) chownSync(`${d}/${h}`, uid, 99);
    if (isRoot) chownSync(`${d}/notowned`, 1, 1);
    const pw = `${d}/passwd`;
    writeFileSync(pw, [
      `joe:x:${uid}:99::${d}/joe:/bin/sh`, `joe-bob:x:${uid}:99::${d}/joebob:/bin/sh`, `alias:x:${uid}:99::${d}/alias:/bin/sh`,
      `toor:x:0:0::${d}/joe:/bin/sh`, `other:x:${isRoot ? 77 : me + 1}:1::${d}/notowned:/bin/sh`, '',
    ].join('\n'));
    const c = new PasswdCache(pw);
    expect(getpw('joe', c)).toEqual({ user: 'joe', uid, gid: 99, home: `${d}/joe`, dash: '', ext: '' });
    expect(getpw('Joe-Ext-More', c)).toEqual({ user: 'joe', uid, gid: 99, home: `${d}/joe`, dash: '-', ext: 'Ext-More' });
    expect(getpw('joe-bob-x', c)).toMatchObject({ user: 'joe-bob', dash: '-', ext: 'x' });
    expect(getpw('toor', c)).toMatchObject({ user: 'alias', dash: '-', ext: 'toor' });
    expect(getpw('other-x', c)).toMatchObject({ user: 'alias', dash: '-', ext: 'other-x' });
    expect(getpw('x'.repeat(40), c)).toMatchObject({ user: 'alias', ext: 'x'.repeat(40) });
    expect(formatNughde(getpw('joe', c)).toString('latin1')).toBe(`joe\0${uid}\0${99}\0${d}/joe\0\0\0`);
    writeFileSync(pw, 'nobody:x:1:1::/nonexistent:/bin/sh\n');
    expect(() => getpw('joe', new PasswdCache(pw))).toThrow(QlxError);
  });

  it('quote2 quotes what RFC 822 needs quoted', () => {
    expect(quote2('joe@example.com')).toBe('joe@example.com');
    expect(quote2('')).toBe('');
    expect(quote2('a b@x')).toBe('"a b"@x');
    expect(quote2('.joe@x')).toBe('".joe"@x');
    expect(quote2('a..b@x')).toBe('"a..b"@x');
    expect(quote2('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(quote2('#@[]')).toBe('#@[]');
    expect(quote2('@x')).toBe('""@x');
  });
});

describe('qmail-pw2u', () => {
  it('passwd -> assignments with qmail-getpw rules, mailnames, subusers, append, -/ and -c', async () => {
    const d = tmpdir();
    mkdirSync(`${d}/users`);
    for (const h of ['h1', 'h2']) mkdirSync(`${d}/${h}`);
    const [u1, u2] = isRoot ? [1001, 7790] : [process.getuid!(), process.getuid!()];
    if (isRoot) {
      chownSync(`${d}/h1`, u1, 0);
      chownSync(`${d}/h2`, u2, 0);
    }
    const pw = `root:x:0:0::/root:/bin/sh\njoe:x:${u1}:100::${d}/h1:/bin/sh\nalias:x:${u2}:2108::${d}/h2:/bin/false\nBob:x:1002:100::${d}/h1:/bin/sh\nnohome:x:1003:1::/nonexistent:/bin/sh\n`;
    const go = async (args: string[], input = pw) => execa(ours('qmail-pw2u'), args, { input, env: { QMAILHOME: d }, reject: false, stripFinalNewline: false });
    expect((await go([])).stdout).toBe(
      `=joe:joe:${u1}:100:${d}/h1:::\n+joe-:joe:${u1}:100:${d}/h1:-::\n+:alias:${u2}:2108:${d}/h2:-::\n=alias:alias:${u2}:2108:${d}/h2:::\n+alias-:alias:${u2}:2108:${d}/h2:-::\n.\n`);
    expect(await go(['-h'])).toMatchObject({ exitCode: 111, stderr: 'qmail-pw2u: fatal: unable to stat /nonexistent\n' });
    writeFileSync(`${d}/users/mailnames`, 'joe:j1:j2\n');
    writeFileSync(`${d}/users/subusers`, 'sub:joe:pre:\n');
    writeFileSync(`${d}/users/append`, '=extra:x:1:1:/x:::\n');
    writeFileSync(`${d}/users/exclude`, 'alias\n');
    expect(await go([])).toMatchObject({ exitCode: 111, stderr: 'qmail-pw2u: fatal: unable to find alias user\n' });
    writeFileSync(`${d}/users/exclude`, '# none\n');
    expect((await go(['-/', '-c+'])).stdout).toBe([
      `=j1:joe:${u1}:100:${d}/h1:::`, `+j1+:joe:${u1}:100:${d}/h1:-/::`, `=j2:joe:${u1}:100:${d}/h1:::`, `+j2+:joe:${u1}:100:${d}/h1:-/::`,
      `+:alias:${u2}:2108:${d}/h2:-/::`, `=alias:alias:${u2}:2108:${d}/h2:::`, `+alias+:alias:${u2}:2108:${d}/h2:-/::`,
      `=sub:joe:${u1}:100:${d}/h1:-/:pre:`, `+sub+:joe:${u1}:100:${d}/h1:-/:pre-:`, '=extra:x:1:1:/x:::', '.', ''].join('\n'));
    expect((await go(['-C', '-u', '-H'])).stdout).toContain(`=Bob:Bob:1002:100:${d}/h1:::\n`);
  });
});
