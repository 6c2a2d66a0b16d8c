/**
 * qmail-inject: golden outputs of `qmail-inject -n` (prepareMessage, the
 * library behind the program) for header and address cases, written from
 * qmail-inject(8), qmail-header(5) and the behaviour of qmail's token822 /
 * headerbody / hfield rules (interface facts), with a fixed time (10^9 s:
 * 9 Sep 2001 01:46:40 UTC) and pid 4242.
 *
 * Controls: defaultdomain dom.example, defaulthost host (no dot: gets
 * .dom.example), plusdomain plus.example, idhost id.example.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from './helpers.ts';
import { prepareMessage, type InjectRequest } from '../src/lib/inject/inject.ts';
import { InjectError, injectSettings } from '../src/lib/inject/settings.ts';
import { addrlist, parse, unparse, unquote } from '../src/lib/inject/token822.ts';

const home = tmpdir('qinj-');
mkdirSync(`${home}/control`);
for (const [k, v] of Object.entries({ me: 'me.example', defaultdomain: 'dom.example', defaulthost: 'host', plusdomain: 'plus.example', idhost: 'id.example' }))
  writeFileSync(`${home}/control/${k}`, v + '\n');

const DATE = 'Date: 9 Sep 2001 01:46:40 -0000\n';
const MSGID = 'Message-ID: <20010909014640.4242.qmail@id.example>\n';
const NOCC = 'Cc: recipient list not shown: ;\n';

function run(input: string, env: Record<string, string> = {}, req: Partial<InjectRequest> = {}) {
  const s = injectSettings({ USER: 'djb', ...env }, home, home);
  return prepareMessage(s, { input, args: [], strategy: 'default', now: 1e9, pid: 4242, print: true, ...req });
}
function fails(input: string, env: Record<string, string> = {}, req: Partial<InjectRequest> = {}): InjectError {
  try {
    run(input, env, req);
  } catch (e) {
    if (e instanceof InjectError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('token822', () => {
  it('tokenizes, unquotes and re-prints', () => {
    const t = parse('To: "a b"@x (c (d) e), [1.2]')!;
    expect(t.map((x) => x.s || x.type)).toEqual(['To', 11, 'a b', 6, 'x', 'c d e', 5, '1.2']);
    expect(unquote(t.slice(2, 5))).toBe('a b@x');
    expect(unparse(t, 80)).toBe('To: "a b"@x (c d e),\n [1.2]\n'.replace(',\n [', ', ['));
    expect(parse('a)b')![0]).toEqual({ type: 2, s: 'a)b' }); // ) inside an atom: a quoted string
    for (const bad of [')', ']x', '(x', '"x', '[x', '"x\\']) expect(parse(bad)).toBeNull();
  });
  it('hands addresses to the callback right to left', () => {
    const seen: string[] = [];
    addrlist(parse('To: a, b <c>, d e')!, (a) => void seen.push(unquote(a.slice().reverse())));
    expect(seen).toEqual(['e', 'd', 'c', 'a']);
  });
  it('folds after a comma where the line (counting the pending 2-byte break) would pass 80', () => {
    const names = Array.from({ length: 8 }, (_, i) => `user${i}@example.com`);
    const out = unparse(parse('To: ' + names.join(','))!, 80);
    expect(out).toBe(
      'To: user0@example.com, user1@example.com, user2@example.com,\n' +
        '  user3@example.com, user4@example.com, user5@example.com, user6@example.com,\n' +
        '  user7@example.com\n',
    );
    expect(out.split('\n').every((l) => l.length <= 80)).toBe(true);
  });
});

describe('qmail-inject -n: generated fields', () => {
  it('adds Return-Path (print only), Date, Message-ID, From, Cc before the input fields', () => {
    const r = run('Subject: hi\n\nbody\n');
    expect(r.message).toBe('Return-Path: <djb@host.dom.example>\n' + DATE + MSGID + 'From: djb@host.dom.example\n' + NOCC + 'Subject: hi\n\nbody\n');
    expect(r.sender).toBe('djb@host.dom.example');
    expect(r.recipients).toEqual([]);
  });
  it('personal name: name-address style, or comment style with QMAILINJECT=c', () => {
    expect(run('\n', { NAME: 'Dan Bernstein' }).message).toContain('\nFrom: "Dan Bernstein" <djb@host.dom.example>\n');
    expect(run('\n', { QMAILNAME: 'D. J. B', MAILNAME: 'no', QMAILINJECT: 'c' }).message).toContain('\nFrom: djb@host.dom.example (D. J. B)\n');
    expect(run('\n', { MAILNAME: 'x"y' }).message).toContain('\nFrom: "x\\"y" <djb@host.dom.example>\n');
  });
  it('user and host variables in precedence order', () => {
    expect(run('\n', { MAILUSER: 'mu', LOGNAME: 'ln' }).sender).toBe('mu@host.dom.example');
    expect(run('\n', { QMAILUSER: 'qu', MAILUSER: 'mu' }).sender).toBe('qu@host.dom.example');
    const s = injectSettings({ LOGNAME: 'ln' }, home, home);
    expect(s.mailuser).toBe('ln');
    expect(injectSettings({}, home, home).mailuser).toBe('anonymous');
    const r = run('\n', { MAILHOST: 'mail.example' });
    expect(r.message).toContain('\nFrom: djb@mail.example\n');
    expect(r.sender).toBe('djb@mail.example');
    const v = run('\n', { QMAILHOST: 'q.example', MAILHOST: 'm.example', QMAILSUSER: 'bounces', QMAILSHOST: 'b.example' });
    expect(v.message).toContain('\nFrom: djb@q.example\n');
    expect(v.message.startsWith('Return-Path: <bounces@b.example>\n')).toBe(true);
    expect(run('\n', { USER: 'a b' }).message).toContain('\nFrom: "a b"@host.dom.example\n');
  });
  it('VERP letters m and r', () => {
    expect(run('\n', { QMAILINJECT: 'm' }).sender).toBe('djb-1000000000.4242@host.dom.example');
    const r = run('\n', { QMAILINJECT: 'r' });
    expect(r.sender).toBe('djb-@host.dom.example-@[]');
    expect(r.message.startsWith('Return-Path: <"djb-@host.dom.example-"@[]>\n')).toBe(true);
  });
  it('control values can be overridden by QMAILDEFAULTHOST and friends', () => {
    const r = run('To: a, b@c, d@e+\n\n', { QMAILDEFAULTHOST: 'dh.example', QMAILDEFAULTDOMAIN: 'dd', QMAILPLUSDOMAIN: 'pd', QMAILIDHOST: 'ih' });
    expect(r.message).toContain('\nTo: a@dh.example, b@c.dd, d@e.pd\n');
    expect(r.message).toContain('.4242.qmail@ih>\n');
  });
  it('existing Date, Message-ID, From, To are kept; QMAILINJECT f and i delete From and Message-ID', () => {
    const input = 'From: me@x.y\nDate: yesterday\nMessage-ID: <m@x>\nTo: you@x.y\n\n';
    expect(run(input).message).toBe('Return-Path: <djb@host.dom.example>\nFrom: me@x.y\nDate: yesterday\nMessage-ID: <m@x>\nTo: you@x.y\n\n');
    expect(run(input, { QMAILINJECT: 'fi' }).message).toBe(
      'Return-Path: <djb@host.dom.example>\n' + MSGID + 'From: djb@host.dom.example\nDate: yesterday\nTo: you@x.y\n\n',
    );
  });
});

describe('qmail-inject -n: address rewriting (qmail-header(5))', () => {
  const to = (v: string): string => {
    const m = run(`To: ${v}\n\n`).message;
    return m.slice(m.indexOf('\nTo:') + 1, m.lastIndexOf('\n\n') + 1);
  };
  it.each([
    ['joe', 'To: joe@host.dom.example\n'],
    ['joe@x', 'To: joe@x.dom.example\n'],
    ['joe@x.y', 'To: joe@x.y\n'],
    ['joe@x+', 'To: joe@x.plus.example\n'],
    ['joe@[1.2.3.4]', 'To: joe@[1.2.3.4]\n'],
    ['joe@[]', 'To: joe@[]\n'],
    ['<@a.b,@c.d:joe@x.y>', 'To: <joe@x.y>\n'],
    ['joe@x.y.', 'To: joe@x.y\n'],
    ['joe@', 'To: joe@host.dom.example\n'],
    ['<>', 'To: <>\n'],
    ['Joe Smith <joe>', 'To: Joe Smith <joe@host.dom.example>\n'],
    ['"Smith, Joe" <joe@x.y>', 'To: "Smith, Joe" <joe@x.y>\n'],
    ['joe smith', 'To: joe@host.dom.example, smith@host.dom.example\n'],
    ['joe (Joe Smith)', 'To: joe@host.dom.example (Joe Smith)\n'],
    ['friends: a, b@c.d;', 'To: friends: a@host.dom.example, b@c.d;\n'],
    ['a,\n  b', 'To: a@host.dom.example, b@host.dom.example\n'],
    ['"j q"', 'To: "j q"@host.dom.example\n'],
    ['j\\(x', 'To: j\\(x@host.dom.example\n'],
    ['j\xf6e@x.y', 'To: "j\xf6e"@x.y\n'],
  ])('%j', (v, out) => {
    expect(to(v)).toBe(out);
  });
  it('qmail-header(5)\'s examples', () => {
    const env = { QMAILDEFAULTDOMAIN: 'berkeley.edu', QMAILPLUSDOMAIN: 'berkeley.edu' };
    const r = run('To: a@b, c@d (Somebody), A Person <e@f>,\n   random group: g@h, i@j;, k@l\nCc: djb@silverton, eric@mammoth.cs+\n\n', env);
    expect(r.message).toContain(
      '\nTo: a@b.berkeley.edu, c@d.berkeley.edu (Somebody),\n  A Person <e@f.berkeley.edu>, random group: g@h.berkeley.edu,\n  i@j.berkeley.edu;, k@l.berkeley.edu\n' +
        'Cc: djb@silverton.berkeley.edu, eric@mammoth.cs.berkeley.edu\n\n',
    );
    expect(r.recipients).toEqual(['k@l.berkeley.edu', 'i@j.berkeley.edu', 'g@h.berkeley.edu', 'e@f.berkeley.edu', 'c@d.berkeley.edu', 'a@b.berkeley.edu', 'eric@mammoth.cs.berkeley.edu', 'djb@silverton.berkeley.edu']);
  });
  it('rewrites every address field, only recipient fields give recipients', () => {
    const r = run('Sender: s\nReply-To: rt\nErrors-To: e\nReturn-Receipt-To: rr\nResent-Reply-To: x\nX-To: not\nTo: t\n\n');
    expect(r.message).toContain('\nSender: s@host.dom.example\nReply-To: rt@host.dom.example\nErrors-To: e@host.dom.example\nReturn-Receipt-To: rr@host.dom.example\n');
    expect(r.message).toContain('\nX-To: not\n');
  });
});

describe('qmail-inject -n: recipients', () => {
  it('header recipients: To, Cc, Bcc, Apparently-To, right to left per field; Bcc and Content-Length removed', () => {
    const r = run('To: a, b\nCc: c@x.y\nBcc: d\nApparently-To: e\nContent-Length: 99\nSubject: s\n\nbody\n');
    expect(r.recipients).toEqual(['b@host.dom.example', 'a@host.dom.example', 'c@x.y', 'd@host.dom.example', 'e@host.dom.example']);
    expect(r.message).toBe(
      'Return-Path: <djb@host.dom.example>\n' + DATE + MSGID + 'From: djb@host.dom.example\n' +
        'To: a@host.dom.example, b@host.dom.example\nCc: c@x.y\nApparently-To: e@host.dom.example\nSubject: s\n\nbody\n',
    );
  });
  it('a resent message: Resent-To/Cc/Bcc only, Resent- fields generated', () => {
    const r = run('From: me@x.y\nTo: t@x.y\nResent-To: r1@x.y\nResent-Bcc: r2@x.y\n\n');
    expect(r.recipients).toEqual(['r1@x.y', 'r2@x.y']);
    expect(r.message).toBe(
      'Return-Path: <djb@host.dom.example>\nResent-' + DATE + 'Resent-' + MSGID + 'Resent-From: djb@host.dom.example\n' +
        'From: me@x.y\nTo: t@x.y\nResent-To: r1@x.y\n\n',
    );
    expect(run('Resent-Date: x\n\n').message).toContain('Resent-Cc: recipient list not shown: ;\n');
  });
  it('-a: arguments only; -h: header only; -A: arguments, else header; -H: both', () => {
    const m = 'To: t@x.y\n\n';
    expect(run(m, {}, { args: ['a1', 'a2@x'], strategy: 'args' }).recipients).toEqual(['a1@host.dom.example', 'a2@x.dom.example']);
    expect(run(m, {}, { args: ['a1'], strategy: 'header' }).recipients).toEqual(['t@x.y']);
    expect(run(m, {}, { args: ['a1'] }).recipients).toEqual(['a1@host.dom.example']);
    expect(run(m, {}, { args: [] }).recipients).toEqual(['t@x.y']);
    expect(run(m, {}, { args: ['a1'], strategy: 'both' }).recipients).toEqual(['a1@host.dom.example', 't@x.y']);
    expect(run(m, {}, { args: ['weird box@x.y', '@r.s:u@v.w'], strategy: 'args' }).recipients).toEqual(['weird box@x.y', '@r.s:u@v.w']); // quote2 makes the route part of a quoted box
  });
  it('envelope sender: -f beats Return-Path beats the environment; QMAILINJECT=s ignores Return-Path', () => {
    const m = 'Return-Path: <rp@x.y>\n\n';
    expect(run(m).sender).toBe('rp@x.y');
    expect(run(m).message).toBe('Return-Path: <rp@x.y>\n' + DATE + MSGID + 'From: djb@host.dom.example\n' + NOCC + '\n');
    expect(run(m, { QMAILINJECT: 's' }).sender).toBe('djb@host.dom.example');
    expect(run(m, {}, { sender: 'f' }).sender).toBe('f@host.dom.example');
    expect(run(m, {}, { sender: '' }).sender).toBe('');
    expect(run(m, {}, { sender: '' }).message.startsWith('Return-Path: <>\n')).toBe(true);
    expect(run('Return-Path: <>\n\n').sender).toBe('');
    expect(run(m, { QMAILINJECT: 'r' }).sender).toBe('rp@x.y-@[]');
  });
  it('Mail-Followup-To from QMAILMFTFILE when To+Cc names a list (case-insensitive)', () => {
    writeFileSync(`${home}/lists`, 'List@Lists.Example\n');
    const r = run('To: a@x.y, list@lists.example\nCc: c@x.y\n\n', { QMAILMFTFILE: 'lists' });
    // To+Cc addresses are collected right to left per field, printed in reverse
    expect(r.message).toContain('\nFrom: djb@host.dom.example\nMail-Followup-To: c@x.y,\n  a@x.y,\n  list@lists.example\nTo: ');
    expect(run('To: a@x.y\n\n', { QMAILMFTFILE: 'lists' }).message).not.toContain('Mail-Followup-To');
    expect(run('To: list@lists.example\nMail-Followup-To: z@x.y\n\n', { QMAILMFTFILE: 'lists' }).message).not.toContain('Mail-Followup-To: list');
  });
});

describe('qmail-inject -n: header/body split and bad input', () => {
  const gen = 'Return-Path: <djb@host.dom.example>\n' + DATE + MSGID + 'From: djb@host.dom.example\n' + NOCC;
  it('a From_ line becomes MBOX-Line; continuation lines stay with their field', () => {
    expect(run('From djb Sat Jan  3 01:05:34 1996\nSubject: a\n\tb\n\nx').message).toBe(gen + 'MBOX-Line: From djb Sat Jan  3 01:05:34 1996\nSubject: a\n\tb\n\nx\n');
  });
  it('a line that is not a field starts the body after an added empty line', () => {
    expect(run('hello world\nmore').message).toBe(gen + '\nhello world\nmore\n');
    expect(run(' leading: space\n').message).toBe(gen + '\n leading: space\n');
    expect(run('').message).toBe(gen);
    expect(run('Subject: only').message).toBe(gen + 'Subject: only\n');
  });
  it('CRLF input: the CR stays in the field, the CRLF line is body', () => {
    expect(run('Subject: x\r\n\r\nbody\r\n').message).toBe(gen + 'Subject: x\r\n\n\r\nbody\r\n');
  });
  it('bare CR and 8-bit bytes pass through untouched', () => {
    expect(run('Subject: caf\xe9\rx\n\n\x00\xff\r\n').message).toBe(gen + 'Subject: caf\xe9\rx\n\n\x00\xff\r\n');
  });
  it('a huge header field is kept whole', () => {
    const big = 'X-Big: ' + 'y'.repeat(200000) + '\n';
    expect(run(big + '\n').message).toBe(gen + big + '\n');
    const many = Array.from({ length: 3000 }, (_, i) => `r${i}@x.y`);
    const r = run(`To: ${many.join(', ')}\n\n`);
    expect(r.recipients.length).toBe(3000);
    expect(r.recipients[0]).toBe('r2999@x.y');
  });
  it('a 30 MB body passes as bytes, a missing final newline added', () => {
    const body = Buffer.alloc(30 << 20, 0xe9);
    const r = run(Buffer.concat([Buffer.from('Subject: big\n\n'), body]) as unknown as string);
    expect(r.bytes.length).toBe(gen.length + 'Subject: big\n\n'.length + body.length + 1);
    expect(r.bytes.subarray(0, gen.length).toString('latin1')).toBe(gen);
    expect(r.bytes[r.bytes.length - 2]).toBe(0xe9);
    expect(r.bytes[r.bytes.length - 1]).toBe(10);
  });
  it('an unparsable recipient field is kept as is; other address fields are fatal', () => {
    const r = run('To: (open\nCc: c@x.y\n\n');
    expect(r.message).toContain('\nTo: (open\nCc: c@x.y\n');
    expect(r.recipients).toEqual(['c@x.y']);
    const e = fails('From: (open\n\n');
    expect([e.status, e.text]).toEqual([100, 'unable to parse this line:\nFrom: (open\n']);
    expect(fails('Reply-To: ]a\n\n').status).toBe(100);
    expect(run('Reply-To: a]\n\n').message).toContain('\nReply-To: "a\\]"@host.dom.example\n');
  });
  it('an unparsable -f or recipient argument is fatal', () => {
    const e = fails('\n', {}, { args: ['x@[1.2'] });
    expect([e.status, e.text]).toEqual([100, 'unable to parse address: x@[1.2\n']);
    const f = fails('\n', {}, { sender: 'x@[1' });
    expect([f.status, f.text]).toEqual([100, 'unable to parse this line:\nx@[1']);
    expect(fails('\n', { QMAILDEFAULTHOST: '(' }).text).toBe('unable to parse this line:\n@(');
  });
});
