/**
 * qmail-local through the real program (as nobody when root): the dot-qmail
 * scenarios of LWQ 4.1 / qmail-local(8) / dot-qmail(5), byte-exact mailbox
 * contents, qmail-command's environment and exit codes, and the bad-input
 * cases (writable/unreadable .qmail, loops, `..` and `/` in addresses).
 */
import { describe, expect, it } from 'vitest';
import { chmodSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { RUN_UID, Tree, runLocal } from './local-helpers.ts';
import { NOBODY_BLOCKED } from './local-helpers.ts';
import { isRoot } from './helpers.ts';
import { myctime } from '../src/lib/qmaildate.ts';
import { parseQueuedEnvelope } from '../src/lib/queue/envelope.ts';

const MSG = 'Received: (qmail 1287205 invoked from network); 13 May 1999 18:34:49 -0000\nFrom: user1@example.net\nTo: user2@example.com\nSubject: hey\n\nWhat\'s up?\n';
const t = new Tree();
const L = (home: string, local: string, dash: string, ext: string, sender = 'user1@example.net', dd = './Maildir/') =>
  ['user', home, local, dash, ext, 'example.com', sender, dd];

describe.skipIf(!!NOBODY_BLOCKED)('qmail-local deliveries', () => {
  it('default delivery into a maildir (no .qmail): Return-Path, Delivered-To, message unchanged', async () => {
    const h = t.home('u1');
    const r = await runLocal(t, L(h, 'user2', '', ''), MSG);
    expect(r).toMatchObject({ code: 0, stdout: 'did 1+0+0\n', stderr: '' });
    expect(t.maildir(h).map(String)).toEqual([`Return-Path: <user1@example.net>\nDelivered-To: user2@example.com\n${MSG}`]);
    const name = readdirSync(`${h}/Maildir/new`)[0];
    expect(name).toMatch(/^\d+\.\d+\.[^/]+$/);
    if (isRoot) expect(readdirSync(`${h}/Maildir/tmp`)).toEqual([]);
  });

  it('mbox delivery as LWQ 4.1.2 shows it: From_ line, >From quoting, blank line', async () => {
    const h = t.home('u2', { '.qmail': './Mailbox\n' });
    const before = Math.floor(Date.now() / 1000);
    const r = await runLocal(t, L(h, 'user2', '', ''), MSG + 'From here\n>From there\nno newline');
    expect(r.code).toBe(0);
    const got = readFileSync(`${h}/Mailbox`, 'latin1');
    const first = got.slice(0, got.indexOf('\n') + 1);
    const ok = [before, before + 1, before + 2].map((s) => `From user1@example.net ${myctime(s)}\n`);
    expect(ok).toContain(first);
    expect(got.slice(first.length)).toBe(`Return-Path: <user1@example.net>\nDelivered-To: user2@example.com\n${MSG}>From here\n>>From there\nno newline\n\n`);
    const st = readFileSync(`${h}/Mailbox`);
    expect(st.length).toBeGreaterThan(0);
  });

  it('bounce sender <>: MAILER-DAEMON in From_, empty Return-Path; quoted local parts', async () => {
    const h = t.home('u3', { '.qmail': './Mailbox\n./Maildir/\n' });
    expect((await runLocal(t, L(h, 'u', '', '', ''), 'x\n')).stdout).toBe('did 2+0+0\n');
    expect(readFileSync(`${h}/Mailbox`, 'latin1')).toMatch(/^From MAILER-DAEMON \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\nReturn-Path: <>\n/);
    await runLocal(t, L(h, 'u', '', '', 'a b"c@x.y'), 'x\n');
    expect(String(t.maildir(h)[1])).toMatch(/^Return-Path: <"a b\\"c"@x.y>\n/);
  });

  it('extension addresses and the -default cascade set DEFAULT; dots become colons, upper case is lowered', async () => {
    const prog = '|echo "E=$EXT E2=$EXT2 E3=$EXT3 E4=$EXT4 D=$DEFAULT L=$LOCAL H2=$HOST2 H3=$HOST3 H4=$HOST4"\n';
    const h = t.home('u4', { '.qmail-list': prog, '.qmail-a-default': prog, '.qmail-default': prog, '.qmail-x:y': prog });
    expect((await runLocal(t, ['u', h, 'u-list', '-', 'list', 'a.b.example.com', 's@x', './Maildir/'], 'm\n')).stdout).toBe(
      'E=list E2= E3= E4= D= L=u-list H2=a.b.example H3=a.b H4=a\ndid 0+0+1\n');
    expect((await runLocal(t, L(h, 'u-A-B-c', '-', 'A-B-c'), 'm\n')).stdout).toBe(
      'E=A-B-c E2=B-c E3=c E4= D=B-c L=u-A-B-c H2=example H3=example H4=example\ndid 0+0+1\n');
    expect((await runLocal(t, L(h, 'u-zz', '-', 'zz'), 'm\n')).stdout).toMatch(/^E=zz .* D=zz /);
    expect((await runLocal(t, L(h, 'u-X.Y', '-', 'X.Y'), 'm\n')).stdout).toMatch(/^E=X.Y .* D= /);
  });

  it('no .qmail for an extension and no -default: "Sorry, no mailbox here by that name." (100)', async () => {
    const h = t.home('u5');
    expect(await runLocal(t, L(h, 'u-nope', '-', 'nope'), 'm\n')).toMatchObject({ code: 100, stdout: '', stderr: 'Sorry, no mailbox here by that name. (#5.1.1)\n' });
  });

  it('addresses with .. and / never leave the home directory', async () => {
    const h = t.home('u6', { '.qmail-default': './Maildir/\n' });
    for (const ext of ['..', '../../etc/passwd', 'a/b', '.qmail']) {
      expect((await runLocal(t, L(h, `u-${ext}`, '-', ext), 'm\n')).code).toBe(0);
    }
    expect(t.maildir(h).length).toBe(4);
  });

  it('empty .qmail means the default delivery; comment-only .qmail discards (LWQ G.17)', async () => {
    const h = t.home('u7', { '.qmail': '', '.qmail-c': '# just a comment\n' });
    expect((await runLocal(t, L(h, 'u', '', ''), 'm\n')).stdout).toBe('did 1+0+0\n');
    expect(await runLocal(t, L(h, 'u-c', '-', 'c'), 'm\n')).toMatchObject({ code: 0, stdout: 'did 0+0+0\n' });
    expect(t.maildir(h).length).toBe(1);
  });

  it('-n prints the instructions', async () => {
    const h = t.home('u8', { '.qmail': '# c\n./Mailbox  \n./Maildir/\n|prog arg\n&a@b\nc@d\n+list\n' });
    expect(await runLocal(t, ['-n', ...L(h, 'u', '', '')], 'm\n')).toMatchObject({
      code: 0,
      stdout: 'mbox ./Mailbox\nmaildir ./Maildir/\nprogram prog arg\nforward a@b\nforward c@d\ndid 2+2+1\n',
    });
  });

  it('program deliveries: 0 ok, 99 stops further lines, 100/64 hard, 111/1 soft, signal crash; output reported', async () => {
    const mk = (code: number) => t.home(`p${code}`, { '.qmail': `|cat >/dev/null; echo out$?; echo err >&2; exit ${code}\n./Maildir/\n` });
    const r0 = await runLocal(t, L(mk(0), 'u', '', ''), 'm\n');
    expect(r0).toMatchObject({ code: 0, stdout: 'out0\nerr\ndid 1+0+1\n' });
    const h99 = mk(99);
    expect(await runLocal(t, L(h99, 'u', '', ''), 'm\n')).toMatchObject({ code: 0, stdout: 'out0\nerr\ndid 0+0+1\n' });
    expect(t.maildir(h99)).toEqual([]);
    for (const [c, want] of [[100, 100], [64, 100], [112, 100], [111, 111], [1, 111], [75, 111]] as const) {
      const h = mk(c);
      expect(await runLocal(t, L(h, 'u', '', ''), 'm\n')).toMatchObject({ code: want, stdout: 'out0\nerr\n', stderr: '' });
      expect(t.maildir(h)).toEqual([]);
    }
    const hk = t.home('pk', { '.qmail': '|kill -9 $$\n' });
    expect(await runLocal(t, L(hk, 'u', '', ''), 'm\n')).toMatchObject({ code: 111, stderr: 'Aack, child crashed. (#4.3.0)\n' });
  });

  it('programs get the message without the added lines, and the qmail-command environment', async () => {
    const h = t.home('pe', { '.qmail-e': '|cat; echo "[$SENDER|$NEWSENDER|$RECIPIENT|$USER|$HOME|$HOST|$LOCAL]"; printf %s "$DTLINE$RPLINE$UFLINE"; pwd\n' });
    const r = await runLocal(t, ['joe', h, 'joe-e', '-', 'e', 'example.com', 's@x.y', './Maildir/'], 'Subject: x\n\nbody\n');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 4)).toEqual(['Subject: x', '', 'body', `[s@x.y|s@x.y|joe-e@example.com|joe|${h}|example.com|joe-e]`]);
    expect(lines[4]).toBe('Delivered-To: joe-e@example.com');
    expect(lines[5]).toBe('Return-Path: <s@x.y>');
    expect(lines[6]).toMatch(/^From s@x.y \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/);
    expect(lines[7]).toBe(h);
  });

  it('-owner diverts bounces: NEWSENDER is LOCAL-owner@HOST, or the VERP form with -owner-default', async () => {
    const prog = '|echo "$NEWSENDER"\n';
    const h = t.home('ow', { '.qmail-l': prog, '.qmail-l-owner': '&x@y\n', '.qmail-v': prog, '.qmail-v-owner': '&x@y\n', '.qmail-v-owner-default': '&x@y\n' });
    expect((await runLocal(t, L(h, 'me-l', '-', 'l'), 'm\n')).stdout).toBe('me-l-owner@example.com\ndid 0+0+1\n');
    expect((await runLocal(t, L(h, 'me-v', '-', 'v'), 'm\n')).stdout).toBe('me-v-owner-@example.com-@[]\ndid 0+0+1\n');
    expect((await runLocal(t, L(h, 'me-l', '-', 'l', ''), 'm\n')).stdout).toBe('\ndid 0+0+1\n');
    expect((await runLocal(t, L(h, 'me-l', '-', 'l', '#@[]'), 'm\n')).stdout).toBe('#@[]\ndid 0+0+1\n');
  });

  it('forwards queue one message from NEWSENDER with the Delivered-To line', async () => {
    const h = t.home('fw', { '.qmail': '&a@example.org\nb@example.net\n./Maildir/\n' });
    const r = await runLocal(t, L(h, 'joe', '', '', 's@x.y'), 'Subject: f\n\nbody\n');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^did 1\+2\+0\nqp \d+\n$/);
    const todo = readdirSync(`${t.qh}/queue/todo`);
    expect(todo.length).toBe(1);
    const env = parseQueuedEnvelope(readFileSync(`${t.qh}/queue/todo/${todo[0]}`))!;
    expect(String(env.sender)).toBe('s@x.y');
    expect(env.recipients.map(String)).toEqual(['a@example.org', 'b@example.net']);
    const mess = readFileSync(`${t.qh}/queue/mess/0/${todo[0]}`, 'latin1');
    expect(mess).toMatch(/^Received: \(qmail \d+ invoked by uid \d+\); .*\nDelivered-To: joe@example.com\nSubject: f\n\nbody\n$/);
  });

  it('Delivered-To loop: "This message is looping" (100); a different Delivered-To is fine', async () => {
    const h = t.home('lp');
    expect(await runLocal(t, L(h, 'joe', '', ''), 'Delivered-To: joe@example.com\nSubject: x\n\nm\n')).toMatchObject({
      code: 100, stderr: 'This message is looping: it already has my Delivered-To line. (#5.4.6)\n',
    });
    expect((await runLocal(t, L(h, 'joe', '', ''), 'Delivered-To: other@example.com\n\nDelivered-To: joe@example.com\n')).code).toBe(0);
  });

  it('writable home or .qmail defers (conf-patrn 002); sticky home defers; x bit makes it forward-only', async () => {
    const hw = t.home('wq', { '.qmail': ['./Maildir/\n', 0o666] });
    expect(await runLocal(t, L(hw, 'u', '', ''), 'm\n')).toMatchObject({ code: 111, stderr: 'Uh-oh: .qmail file is writable. (#4.7.0)\n' });
    const hh = t.home('wh');
    chmodSync(hh, 0o777);
    expect(await runLocal(t, L(hh, 'u', '', ''), 'm\n')).toMatchObject({ code: 111, stderr: 'Uh-oh: home directory is writable. (#4.7.0)\n' });
    const hs = t.home('st');
    chmodSync(hs, 0o1755);
    expect(await runLocal(t, L(hs, 'u', '', ''), 'm\n')).toMatchObject({ code: 111, stderr: 'Home directory is sticky: user is editing his .qmail file. (#4.2.1)\n' });
    expect(await runLocal(t, ['-n', ...L(hs, 'u', '', '')], 'm\n')).toMatchObject({ code: 0, stderr: 'Warning: home directory is sticky.\n' });
    const hx = t.home('xb', { '.qmail': ['./Maildir/\n', 0o744], '.qmail-l': ['+list\n|true\n', 0o644] });
    expect(await runLocal(t, L(hx, 'u', '', ''), 'm\n')).toMatchObject({ code: 111, stderr: 'Uh-oh: .qmail has file delivery but has x bit set. (#4.7.0)\n' });
    expect(await runLocal(t, L(hx, 'u-l', '-', 'l'), 'm\n')).toMatchObject({ code: 111, stderr: 'Uh-oh: .qmail has prog delivery but has x bit set. (#4.7.0)\n' });
  });

  it('unreadable .qmail defers, never falls back to .qmail-default', async () => {
    const h = t.home('ur', { '.qmail-x': ['./Maildir/\n', 0o000], '.qmail-default': './Maildir/\n' });
    expect(await runLocal(t, L(h, 'u-x', '-', 'x'), 'm\n')).toMatchObject({ code: 111, stderr: 'Unable to open .qmail-x: access denied. (#4.3.0)\n' });
    expect(t.maildir(h)).toEqual([]);
  });

  it('first line blank; missing maildir; unopenable mbox; relative homedir is usage', async () => {
    const h = t.home('bl', { '.qmail': '\n./Maildir/\n', '.qmail-m': './NoDir/\n', '.qmail-b': './no/such/Mailbox\n' });
    expect(await runLocal(t, L(h, 'u', '', ''), 'm\n')).toMatchObject({ code: 111, stderr: 'Uh-oh: first line of .qmail file is blank. (#4.2.1)\n' });
    expect(await runLocal(t, L(h, 'u-m', '-', 'm'), 'm\n')).toMatchObject({ code: 111, stderr: 'Unable to chdir to maildir. (#4.2.1)\n' });
    expect(await runLocal(t, L(h, 'u-b', '-', 'b'), 'm\n')).toMatchObject({ code: 111, stderr: 'Unable to open ./no/such/Mailbox: file does not exist. (#4.2.1)\n' });
    expect((await runLocal(t, L('rel', 'u', '', ''), 'm\n')).code).toBe(100);
    expect((await runLocal(t, ['a'], 'm\n')).stderr).toBe('qmail-local: usage: qmail-local [ -nN ] user homedir local dash ext domain sender aliasempty\n');
  });

  it('bare CR, NUL and 8-bit bytes pass through byte for byte (maildir and mbox)', async () => {
    const body = Buffer.from('Subject: \xe9t\xe9\r\n\nline\rwith\0bare CR \xff\n', 'latin1');
    const h = t.home('cr', { '.qmail': './Maildir/\n./Mailbox\n' });
    expect((await runLocal(t, L(h, 'u', '', ''), body)).code).toBe(0);
    expect(t.maildir(h)[0].equals(Buffer.concat([Buffer.from('Return-Path: <user1@example.net>\nDelivered-To: u@example.com\n'), body]))).toBe(true);
    const mb = readFileSync(`${h}/Mailbox`);
    expect(mb.subarray(mb.indexOf(0x0a) + 1).equals(Buffer.concat([Buffer.from('Return-Path: <user1@example.net>\nDelivered-To: u@example.com\n'), body, Buffer.from('\n')]))).toBe(true);
    if (isRoot) expect(existsSync(`${h}/Mailbox`)).toBe(true);
    expect(RUN_UID).toBeGreaterThan(0);
  });
});
