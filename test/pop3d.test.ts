/**
 * qmail-pop3d and qmail-popup on their own (golden transcripts through
 * pipes) and their library modules: blast (CRLF, byte-stuffing, TOP, chunk
 * replay), command splitting and line limits, maildir scanning and QUIT.
 */
import { describe, expect, it } from 'vitest';
import { chmodSync, existsSync, readFileSync, renameSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { execa } from 'execa';
import { isRoot, ours, tmpdir } from './helpers.ts';
import { deliver, listing, makeHome } from './pop3helpers.ts';
import { Blaster } from '../src/lib/pop3/blast.ts';
import { LineReader, MAX_LINE, splitCommand, streamSource } from '../src/lib/pop3/command.ts';
import { cleanTmp, commit, openMailbox, uidOf } from '../src/lib/pop3/mailbox.ts';

/** Run qmail-pop3d (as nobody when root) on input; stdout as latin1. */
async function pop3d(cwd: string, input: string, args = ['Maildir']): Promise<{ out: string; code: number; err: string }> {
  const argv = isRoot ? [ours('setuidgid'), 'nobody', ours('qmail-pop3d'), ...args] : [ours('qmail-pop3d'), ...args];
  const r = await execa(argv[0], argv.slice(1), { cwd, input, reject: false, encoding: 'latin1', stripFinalNewline: false });
  return { out: r.stdout, code: r.exitCode ?? -1, err: r.stderr };
}

function blast(msg: string, limit = 0, chunk = 0): string {
  const b = new Blaster(limit);
  const m = Buffer.from(msg, 'latin1');
  const parts: Buffer[] = [];
  const step = chunk || m.length || 1;
  for (let i = 0; i < m.length && !b.done; i += step) parts.push(b.push(m.subarray(i, i + step)));
  parts.push(b.end());
  return Buffer.concat(parts).toString('latin1');
}

describe('blast', () => {
  const msg = 'A: 1\n.B: 2\n\n.\n..x\nbody\r\nlast';
  it('converts LF to CRLF, stuffs dots, keeps CR and appends the extra blank line', () => {
    expect(blast(msg)).toBe('A: 1\r\n..B: 2\r\n\r\n..\r\n...x\r\nbody\r\r\nlast\r\n\r\n.\r\n');
    expect(blast('')).toBe('\r\n.\r\n');
    expect(blast('x\n')).toBe('x\r\n\r\n.\r\n');
  });
  it('TOP n sends the headers, the blank line and n body lines', () => {
    expect(blast(msg, 1)).toBe('A: 1\r\n..B: 2\r\n\r\n\r\n.\r\n');
    expect(blast(msg, 3)).toBe('A: 1\r\n..B: 2\r\n\r\n..\r\n...x\r\n\r\n.\r\n');
    expect(blast(msg, 99)).toBe(blast(msg));
  });
  it('gives the same bytes whatever the chunk size (1, 3, 17)', () => {
    for (const c of [1, 3, 17]) for (const l of [0, 1, 2, 4]) expect(blast(msg, l, c)).toBe(blast(msg, l));
  });
});

describe('command lines', () => {
  it('splits like commands.c', () => {
    expect(splitCommand('PASS  a b ')).toEqual({ verb: 'PASS', arg: 'a b ' });
    expect(splitCommand('noop')).toEqual({ verb: 'noop', arg: '' });
    expect(splitCommand('')).toEqual({ verb: '', arg: '' });
  });
  it('reads CRLF and LF lines, flags overlong ones, stops at an unterminated end', async () => {
    const s = new PassThrough();
    const r = new LineReader(streamSource(s), 5);
    s.write('USER a\r\nST');
    s.write('AT\n' + 'x'.repeat(MAX_LINE + 10) + '\r\nNOOP\r\nQUI');
    s.end();
    expect(await r.next()).toEqual({ verb: 'USER', arg: 'a' });
    expect(await r.next()).toEqual({ verb: 'STAT', arg: '' });
    expect(await r.next()).toEqual({ verb: '', arg: '', overlong: true });
    expect(await r.next()).toEqual({ verb: 'NOOP', arg: '' });
    expect(await r.next()).toBeNull();
  });
});

describe('maildir scan', () => {
  it('lists new and cur by mtime, skips dot files and this second, cleans old tmp files', async () => {
    const h = makeHome();
    const now = Math.floor(Date.now() / 1000);
    const put = (name: string, t: number): void => {
      writeFileSync(`${h.maildir}/${name}`, name);
      utimesSync(`${h.maildir}/${name}`, t, t);
    };
    put('cur/1.a:2,S', now - 50);
    put('new/2.b', now - 100);
    put('new/.hidden', now - 200);
    put('new/3.c', now + 5);
    put('tmp/old', now - 200000);
    put('tmp/young', now - 100);
    const box = openMailbox(h.maildir, now);
    expect(box.messages.map((m) => [m.fn, m.size, uidOf(m)])).toEqual([
      ['new/2.b', 7, '2.b'],
      ['cur/1.a:2,S', 11, '1.a'],
    ]);
    expect(existsSync(`${h.maildir}/tmp/old`)).toBe(false);
    expect(existsSync(`${h.maildir}/tmp/young`)).toBe(true);
    cleanTmp(`${h.dir}/none`);
    // QUIT: deleted ones go (a vanished one counts as gone), new/ moves to cur/
    box.messages[1].deleted = true;
    unlinkSync(`${h.maildir}/cur/1.a:2,S`);
    expect(commit(box)).toBe(true);
    expect(listing(h.maildir)).toEqual(['cur/2.b:2,', 'new/.hidden', 'new/3.c']);
  });
});

describe('qmail-pop3d', () => {
  it('answers every command with the original texts and commits only at QUIT', async () => {
    const h = makeHome();
    const [n1, n2, n3] = await deliver(h.maildir, [Buffer.from('S: 1\n\nb1\nb2\n'), Buffer.from('S: 2\n\n.x\n'), Buffer.from('S: 3\n\nc\n')]);
    const u = (n: string): string => n.slice(4);
    const input = [
      'STAT', 'LIST', 'UIDL', 'LIST 2', 'UIDL 3', 'TOP 1 1', 'RETR 2', 'retr 1 0', 'DELE 2', 'RETR 2', 'TOP 2 1', 'DELE 2', 'LIST 2',
      'STAT', 'LAST', 'RSET', 'LAST', 'DELE 3', 'LIST 0', 'LIST 4', 'LIST x', 'DELE', 'NOOP', 'CAPA', 'XYZZY', 'x'.repeat(3000), '',
    ].join('\r\n') + '\r\n';
    // no QUIT: nothing changes
    const a = await pop3d(h.home, input);
    expect(a.code).toBe(0);
    expect(a.out).toBe(
      [
        '+OK ', '+OK 3 29', '+OK ', '1 12', '2 9', '3 8', '.', '+OK ', `1 ${u(n1)}`, `2 ${u(n2)}`, `3 ${u(n3)}`, '.', '+OK 2 9', `+OK 3 ${u(n3)}`,
        '+OK ', 'S: 1', '', 'b1', '', '.',
        '+OK ', 'S: 2', '', '..x', '', '.',
        '+OK ', 'S: 1', '', '', '.',
        '+OK ', '-ERR already deleted', '-ERR already deleted', '-ERR already deleted', '-ERR already deleted',
        '+OK 3 20', '+OK 2', '+OK ', '+OK 0', '+OK ',
        '-ERR messages are counted from 1', '-ERR not that many messages', '-ERR syntax error', '-ERR syntax error', '+OK ',
        '+OK capability list follows', 'TOP', 'UIDL', 'IMPLEMENTATION qmail-ts', '.',
        '-ERR unimplemented', '-ERR line too long', '-ERR unimplemented', '',
      ].join('\r\n'),
    );
    expect(listing(h.maildir)).toEqual([n1, n2, n3].sort());
    // with QUIT: DELE 2 applied, the others move to cur/
    const b = await pop3d(h.home, 'DELE 2\r\nLIST\r\nQUIT\r\nSTAT\r\n');
    expect(b.out).toBe(`+OK \r\n+OK \r\n+OK \r\n1 12\r\n3 8\r\n.\r\n+OK \r\n`);
    expect(listing(h.maildir)).toEqual([`cur/${u(n1)}:2,`, `cur/${u(n3)}:2,`].sort());
  });

  it('survives a message that vanished or moved after the scan', async () => {
    const h = makeHome();
    const [n1, n2] = await deliver(h.maildir, [Buffer.from('a\n'), Buffer.from('b\n')]);
    // a slow client: the message is taken by another session between scan and RETR
    const argv = isRoot ? [ours('setuidgid'), 'nobody', ours('qmail-pop3d'), 'Maildir'] : [ours('qmail-pop3d'), 'Maildir'];
    const p = execa(argv[0], argv.slice(1), { cwd: h.home, reject: false, encoding: 'latin1', stdin: 'pipe', stripFinalNewline: false });
    let out = '';
    p.stdout!.on('data', (b: Buffer) => (out += b.toString('latin1')));
    while (!out.startsWith('+OK ')) await new Promise((r) => setTimeout(r, 10));
    unlinkSync(`${h.maildir}/${n1}`);
    renameSync(`${h.maildir}/${n2}`, `${h.maildir}/cur/${n2.slice(4)}:2,S`);
    p.stdin!.end('RETR 1\r\nDELE 1\r\nRETR 2\r\nQUIT\r\n');
    const r = await p;
    expect(r.stdout).toBe('+OK \r\n-ERR unable to open that message\r\n+OK \r\n-ERR unable to open that message\r\n+OK \r\n');
    expect(listing(h.maildir)).toEqual([`cur/${n2.slice(4)}:2,S`]);
  });

  it('gives a clear -ERR for a missing or unreadable maildir', async () => {
    const h = makeHome();
    expect((await pop3d(h.home, 'STAT\r\n', ['Nothing'])).out).toBe('-ERR this user has no $HOME/Maildir\r\n');
    expect((await pop3d(h.home, 'STAT\r\n', [])).out).toBe('-ERR this user has no $HOME/Maildir\r\n');
    writeFileSync(`${h.home}/file`, '');
    expect((await pop3d(h.home, 'STAT\r\n', ['file'])).out).toBe('-ERR this user has no $HOME/Maildir\r\n');
    chmodSync(`${h.maildir}/cur`, 0);
    expect((await pop3d(h.home, 'STAT\r\n')).out).toBe('-ERR unable to scan $HOME/Maildir\r\n');
  });

  it.skipIf(!isRoot)('refuses to run as root', async () => {
    const h = makeHome();
    const r = await execa(ours('qmail-pop3d'), ['Maildir'], { cwd: h.home, reject: false, input: 'QUIT\r\n' });
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([1, '', 'qmail-pop3d invoked as uid 0, terminating']);
  });
});

describe('qmail-popup', () => {
  /** A check program that records its argv, fd 3 and environment, then exits with $1. */
  function checker(dir: string): string {
    const f = `${dir}/check`;
    writeFileSync(f, `#!/bin/sh\ncat <&3 > ${dir}/fd3\necho "$@" > ${dir}/args\ncode=$1\nshift\n[ "$code" = kill ] && kill -9 $$\nexit $code\n`, { mode: 0o755 });
    return f;
  }

  it('greets with the APOP timestamp, takes USER/PASS and hands them on fd 3', async () => {
    const d = tmpdir();
    const p = execa(ours('qmail-popup'), ['mail.example', checker(d), '0', 'sub', 'arg'], { input: 'noop\r\nPASS x\r\nUSER\r\nuser  joe \r\nPASS  se cret\r\nQUIT\r\n', reject: false, encoding: 'latin1', stripFinalNewline: false });
    const pid = p.pid;
    const r = await p;
    const m = /^\+OK <(\d+)\.(\d+)@mail\.example>\r\n/.exec(r.stdout);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBe(pid);
    expect(r.stdout.slice(m![0].length)).toBe('+OK \r\n-ERR USER first\r\n-ERR syntax error\r\n+OK \r\n');
    expect(r.exitCode).toBe(1);
    expect(readFileSync(`${d}/fd3`, 'latin1')).toBe(`joe \0se cret\0<${m![1]}.${m![2]}@mail.example>\0`);
    expect(readFileSync(`${d}/args`, 'latin1')).toBe('0 sub arg\n');
  });

  it('APOP, a failing and a crashing check program, QUIT, usage', async () => {
    const d = tmpdir();
    const run = async (args: string[], input: string): Promise<string> =>
      (await execa(ours('qmail-popup'), args, { input, reject: false, encoding: 'latin1', stripFinalNewline: false })).stdout.replace(/^\+OK <[^>]*>\r\n/, '');
    expect(await run(['h', checker(d), '1'], 'APOP joe\r\nAPOP joe 0123abcd\r\n')).toBe('-ERR syntax error\r\n-ERR authorization failed\r\n');
    expect(readFileSync(`${d}/fd3`, 'latin1')).toMatch(/^joe\x000123abcd\x00<\d+\.\d+@h>\x00$/);
    expect(await run(['h', checker(d), 'kill'], 'USER a\r\nPASS b\r\n')).toBe('+OK \r\n-ERR aack, child crashed\r\n');
    expect(await run(['h', `${d}/missing`], 'USER a\r\nPASS b\r\n')).toBe('+OK \r\n-ERR authorization failed\r\n');
    expect(await run(['h', checker(d), '0'], 'QUIT\r\nUSER a\r\n')).toBe('+OK \r\n');
    expect(await run(['h'], '')).toBe('-ERR usage: popup hostname subprogram\r\n');
    expect(await run([], '')).toBe('-ERR usage: popup hostname subprogram\r\n');
  });
});

describe('transaction state fuzz', () => {
  it('stays alive and answers NOOP after seeded random command lines, in 1-, 3- and 17-byte chunks', async () => {
    const { serveTransaction } = await import('../src/lib/pop3/transaction.ts');
    const h = makeHome();
    await deliver(h.maildir, [Buffer.from('S: 1\n\n.a\n'), Buffer.from('S: 2\n\nb\n')]);
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const verbs = ['STAT', 'LIST', 'UIDL', 'RETR', 'TOP', 'DELE', 'RSET', 'LAST', 'NOOP', 'CAPA', 'retr', 'X', ''];
    const args = ['', ' 1', ' 2', ' 3', ' 0', ' 1 0', ' 2 5', ' -1', ' 99999999999999999999', ' x', '  1', ' 1\0'];
    for (const chunk of [1, 3, 17]) {
      const lines: string[] = [];
      for (let i = 0; i < 60; i++) {
        const l = verbs[rnd(verbs.length)] + args[rnd(args.length)];
        lines.push(rnd(7) === 0 ? l + String.fromCharCode(rnd(256)).repeat(rnd(40)) : l);
      }
      const input = Buffer.from(lines.join('\r\n') + '\r\nNOOP\r\n', 'latin1');
      const inp = new PassThrough();
      const out = new PassThrough();
      let got = '';
      out.on('data', (b: Buffer) => (got += b.toString('latin1')));
      const box = openMailbox(h.maildir);
      const done = serveTransaction(box, new LineReader(streamSource(inp), 5), out);
      for (let i = 0; i < input.length; i += chunk) inp.write(input.subarray(i, i + chunk));
      inp.end();
      await done;
      expect(got.endsWith('+OK \r\n')).toBe(true);
      const replies = got.split('\r\n').filter((l) => /^[+-](OK|ERR)/.test(l)).length;
      expect(replies).toBeGreaterThanOrEqual(61);
    }
    expect(listing(h.maildir).length).toBe(2);
  });
});
