/**
 * qmail-lspawn through qmail's spawn protocol (real process): greeting,
 * users/assign (qmail-newu) lookups with wildcards and the alias user, the
 * LWQ scenarios as reports (K/Z/D + qmail-local's text), spawn.c's command
 * checks, refusal of uid 0, many deliveries in flight; as root, deliveries
 * run in per-uid workers as a throw-away test user (useradd/userdel).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { RUN_GID, RUN_UID, Tree, runLspawn } from './local-helpers.ts';
import { NOBODY_BLOCKED } from './local-helpers.ts';
import { isRoot, ours, until } from './helpers.ts';
import { getpwnam } from '../src/lib/passwd.ts';

const MSG = 'From: a@b.c\nSubject: s\n\nbody\n';

describe.skipIf(!!NOBODY_BLOCKED)('qmail-lspawn (in-process deliveries)', () => {
  const t = new Tree();
  const joe = t.home('joe', { '.qmail-prog': '|echo hello; exit 0\n', '.qmail-hard': '|echo no such list; exit 100\n', '.qmail-soft': '|echo busy; exit 111\n', '.qmail-stop': '|exit 99\n./Maildir/\n' });
  const alias = t.home('alias', { '.qmail-postmaster': './Maildir/\n', '.qmail-default': './Mailbox\n' });
  const assign = `=joe:joe:${RUN_UID}:${RUN_GID}:${joe}:::\n+joe-:joe:${RUN_UID}:${RUN_GID}:${joe}:-::\n=rooty:root:0:0:${joe}:::\n+:alias:${RUN_UID}:${RUN_GID}:${alias}:-::\n.\n`;

  it('greets with the concurrency limit and delivers by users/assign, wildcard and alias', async () => {
    await t.assign(assign);
    const m = t.message(MSG);
    const r = await runLspawn(t, './Maildir/', [
      { delnum: 0, messid: m, sender: 's@x.y', recipient: 'joe@example.com' },
      { delnum: 1, messid: m, sender: 's@x.y', recipient: 'Joe-Prog@example.com' },
      { delnum: 2, messid: m, sender: 's@x.y', recipient: 'postmaster@example.com' },
      { delnum: 3, messid: m, sender: 's@x.y', recipient: 'nosuch@example.com' },
      { delnum: 4, messid: m, sender: 's@x.y', recipient: 'joe-nosuch@example.com' },
    ]);
    expect(r.code).toBe(0);
    expect(r.greeting).toBe(120);
    expect(r.reports.length).toBe(5);
    expect(r.byDelnum.get(0)).toEqual({ delnum: 0, status: 'K', text: 'did 1+0+0\n' });
    expect(r.byDelnum.get(1)).toEqual({ delnum: 1, status: 'K', text: 'hello\ndid 0+0+1\n' });
    expect(r.byDelnum.get(2)).toEqual({ delnum: 2, status: 'K', text: 'did 1+0+0\n' });
    expect(r.byDelnum.get(3)).toEqual({ delnum: 3, status: 'K', text: 'did 1+0+0\n' });
    expect(r.byDelnum.get(4)).toEqual({ delnum: 4, status: 'D', text: 'Sorry, no mailbox here by that name. (#5.1.1)\n' });
    expect(t.maildir(joe).map(String)).toEqual([`Return-Path: <s@x.y>\nDelivered-To: joe@example.com\n${MSG}`]);
    expect(t.maildir(alias).map(String)).toEqual([`Return-Path: <s@x.y>\nDelivered-To: postmaster@example.com\n${MSG}`]);
    expect(readFileSync(`${alias}/Mailbox`, 'latin1')).toContain('Delivered-To: nosuch@example.com\n');
  });

  it('program exit codes become K, D, Z with the program output', async () => {
    await t.assign(assign);
    const m = t.message(MSG);
    const r = await runLspawn(t, './Maildir/', [
      { delnum: 7, messid: m, sender: '', recipient: 'joe-hard@example.com' },
      { delnum: 8, messid: m, sender: '', recipient: 'joe-soft@example.com' },
      { delnum: 9, messid: m, sender: '', recipient: 'joe-stop@example.com' },
    ]);
    expect(r.byDelnum.get(7)).toEqual({ delnum: 7, status: 'D', text: 'no such list\n' });
    expect(r.byDelnum.get(8)).toEqual({ delnum: 8, status: 'Z', text: 'busy\n' });
    expect(r.byDelnum.get(9)).toEqual({ delnum: 9, status: 'K', text: 'did 0+0+1\n' });
  });

  it("spawn.c's checks, <>, a missing message, uid 0 and a foreign uid are reported, not delivered", async () => {
    await t.assign(assign);
    const m = t.message(MSG);
    const r = await runLspawn(t, './Maildir/', [
      { delnum: 1, messid: 'x/1', sender: '', recipient: 'joe@e.com' },
      { delnum: 2, messid: m, sender: '', recipient: 'joe' },
      { delnum: 3, messid: '0/999999', sender: '', recipient: 'joe@e.com' },
      { delnum: 4, messid: m, sender: '', recipient: '@e.com' },
      { delnum: 5, messid: m, sender: '', recipient: 'rooty@e.com' },
      { delnum: 200, messid: m, sender: '', recipient: 'joe@e.com' },
    ]);
    expect(r.byDelnum.get(1)).toEqual({ delnum: 1, status: 'D', text: 'Internal error: messid has nonnumerics. (#5.3.5)\n' });
    expect(r.byDelnum.get(2)).toEqual({ delnum: 2, status: 'D', text: 'Sorry, address must include host name. (#5.1.3)\n' });
    expect(r.byDelnum.get(3)).toEqual({ delnum: 3, status: 'Z', text: 'qmail-spawn unable to open message. (#4.3.0)\n' });
    expect(r.byDelnum.get(4)).toEqual({ delnum: 4, status: 'K', text: '' });
    expect(r.byDelnum.get(5)).toEqual({ delnum: 5, status: 'Z', text: 'Not allowed to perform deliveries as root.\n' });
    expect(r.byDelnum.get(200)).toEqual({ delnum: 200, status: 'Z', text: 'Internal error: delnum too big. (#4.3.5)\n' });
  });

  it.skipIf(!isRoot)('a message not owned by the queue owner is refused; a foreign uid in-process is a deferral', async () => {
    await t.assign(assign.replace('=joe:', `=other:other:4242:4242:${joe}:::\n=joe:`));
    const m = t.message(MSG);
    chownSync(`${t.qh}/queue/mess/${m}`, 0, 0);
    const m2 = t.message(MSG);
    const r = await runLspawn(t, './Maildir/', [
      { delnum: 0, messid: m, sender: '', recipient: 'joe@e.com' },
      { delnum: 1, messid: m2, sender: '', recipient: 'other@e.com' },
    ]);
    expect(r.byDelnum.get(0)).toEqual({ delnum: 0, status: 'Z', text: 'Sorry, message has wrong owner. (#4.3.5)\n' });
    expect(r.byDelnum.get(1)).toEqual({ delnum: 1, status: 'Z', text: 'Internal qmail-lspawn bug.\n' });
  });

  it('QMAILPATRN sets the forbidden mode bits (default 002, as conf-patrn)', async () => {
    const g = t.home('grp');
    chmodSync(g, 0o775);
    await t.assign(`=grp:grp:${RUN_UID}:${RUN_GID}:${g}:::\n.\n`);
    const m = t.message(MSG);
    const cmd = [{ delnum: 0, messid: m, sender: '', recipient: 'grp@e.com' }];
    expect((await runLspawn(t, './Maildir/', cmd)).byDelnum.get(0)).toEqual({ delnum: 0, status: 'K', text: 'did 1+0+0\n' });
    expect((await runLspawn(t, './Maildir/', cmd, { env: { QMAILPATRN: '022' } })).byDelnum.get(0)).toEqual({
      delnum: 0, status: 'Z', text: 'Uh-oh: home directory is writable. (#4.7.0)\n',
    });
  });

  it('many deliveries in flight, each reported once', async () => {
    await t.assign(assign);
    const m = t.message(MSG);
    const n = 100;
    const cmds = Array.from({ length: n }, (_, i) => ({ delnum: i, messid: m, sender: 's@x.y', recipient: `joe-many${i}@example.com` }));
    writeFileSync(`${joe}/.qmail-default`, './Maildir/\n');
    if (isRoot) chownSync(`${joe}/.qmail-default`, RUN_UID, RUN_GID);
    const r = await runLspawn(t, './Maildir/', cmds);
    expect(r.reports.length).toBe(n);
    expect(new Set(r.reports.map((x) => x.delnum)).size).toBe(n);
    expect(r.reports.every((x) => x.status === 'K')).toBe(true);
    expect(readdirSync(`${joe}/Maildir/new`).length).toBeGreaterThanOrEqual(n);
  });
});

describe.skipIf(!!NOBODY_BLOCKED)('qmail-lspawn killed with -9 mid-delivery', () => {
  it('leaves only complete messages in Maildir/new (never a partial one)', async () => {
    const t = new Tree();
    const h = t.home('k9', { '.qmail-default': './Maildir/\n' });
    await t.assign(`+k9-:k9:${RUN_UID}:${RUN_GID}:${h}:-::\n.\n`);
    const body = Buffer.concat([Buffer.from('Subject: big\n\n'), Buffer.alloc(300000, 'y'), Buffer.from('\n')]);
    const m = t.message(body);
    const { encodeCommand } = await import('../src/lib/spawn/protocol.ts');
    const p = execa(ours('qmail-lspawn'), ['./Maildir/'], {
      env: { PATH: process.env.PATH!, QMAILHOME: t.qh }, extendEnv: false, reject: false,
      uid: isRoot ? RUN_UID : undefined, gid: isRoot ? RUN_GID : undefined, stdin: 'pipe', stdout: 'ignore',
    });
    for (let i = 0; i < 120; i++) p.stdin!.write(encodeCommand({ delnum: i, messid: m, sender: 's@x', recipient: `k9-n${i}@example.com` }));
    await until(() => readdirSync(`${h}/Maildir/new`).length > 0, 20000, 2); // deliveries are under way
    p.kill('SIGKILL');
    await p;
    const want = Buffer.from('Return-Path: <s@x>\nDelivered-To: k9-n');
    for (const f of t.maildir(h)) {
      expect(f.subarray(0, want.length).equals(want)).toBe(true);
      expect(f.length).toBe(f.indexOf('Subject: big') + body.length);
      expect(f.subarray(f.indexOf('Subject: big')).equals(body)).toBe(true);
    }
  });
});

const TESTUSER = `qmlt${process.pid % 100000}`;
describe.skipIf(!isRoot || !!NOBODY_BLOCKED)('qmail-lspawn as root: per-uid workers as the recipient', () => {
  let uid = -1;
  let gid = -1;
  afterAll(async () => {
    if (uid >= 0) await execa('userdel', [TESTUSER], { reject: false });
  });

  it('delivers as the account (files owned by it, programs run as it), through passwd and users/cdb', async () => {
    const t = new Tree();
    const home = `${t.dir}/${TESTUSER}`;
    const add = await execa('useradd', ['-M', '-d', home, '-s', '/bin/sh', TESTUSER], { reject: false });
    expect(add.exitCode).toBe(0);
    uid = Number((await execa('id', ['-u', TESTUSER])).stdout);
    gid = Number((await execa('id', ['-g', TESTUSER])).stdout);
    t.home(TESTUSER, { '.qmail-id': '|id -u; id -g; id -G\n', '.qmail-box': './Maildir/\n', '.qmail-die': '|kill -9 $PPID; sleep 1\n' }, uid, gid);
    // the queue belongs to root here (queue owner = queue/mess owner)
    chownSync(`${t.qh}/queue/mess`, 0, 0);
    chownSync(`${t.qh}/queue/mess/0`, 0, 0);
    const m = t.message(MSG);
    chownSync(`${t.qh}/queue/mess/${m}`, 0, 0);
    const r = await runLspawn(t, './Maildir/', [
      { delnum: 0, messid: m, sender: 's@x.y', recipient: `${TESTUSER}-box@example.com` },
      { delnum: 1, messid: m, sender: 's@x.y', recipient: `${TESTUSER}-id@example.com` },
      { delnum: 2, messid: m, sender: 's@x.y', recipient: 'root@example.com' },
    ], { uid: 0, gid: 0 });
    // a worker killed mid-delivery: that delivery is deferred, not lost
    const k = await runLspawn(t, './Maildir/', [{ delnum: 3, messid: m, sender: 's@x.y', recipient: `${TESTUSER}-die@example.com` }], { uid: 0, gid: 0 });
    expect(k.byDelnum.get(3)).toEqual({ delnum: 3, status: 'Z', text: 'qmail-local crashed.\n' });
    expect(r.code).toBe(0);
    expect(r.byDelnum.get(0)).toEqual({ delnum: 0, status: 'K', text: 'did 1+0+0\n' });
    expect(r.byDelnum.get(1)).toEqual({ delnum: 1, status: 'K', text: `${uid}\n${gid}\n${gid}\ndid 0+0+1\n` });
    // root is never a delivery account: qmail-getpw skips uid 0 for the alias user, when there is one
    // (test/system-install.test.ts creates qmail's users; its home may be gone)
    const alias = getpwnam('alias');
    const esc = (x: string): string => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(r.byDelnum.get(2)!.text).toMatch(alias ? new RegExp(`^(did \\d|Unable to switch to ${esc(alias.home)}: )`) : /^Unable to find alias user!\n$/);
    const files = readdirSync(`${home}/Maildir/new`);
    expect(files.length).toBe(1);
    const st = statSync(`${home}/Maildir/new/${files[0]}`);
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([uid, gid, 0o600]);
  });
});
