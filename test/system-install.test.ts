/**
 * The system install end to end, as root, with qmail's real users: `qmailctl
 * setup` (creating alias, qmaild, qmaill, qmailp, qmailq, qmailr, qmails and
 * the groups qmail, nofiles when this machine lacks them; never removed
 * again) builds a tree under a temporary QMAILHOME, and the run scripts it
 * wrote start qmail-send (rc -> qmail-start: lspawn root, rspawn qmailr,
 * clean qmailq, send qmails), qmail-queued (setuidgid qmailq) and qmail-smtpd
 * (tcpserver -u qmaild -g nofiles). Then the trust partition is checked:
 *
 * 1. qmail-inject run by nobody and by root reaches the test user qmtest1
 *    (created with useradd when missing): the Maildir file belongs to
 *    qmtest1, the Received line names the injecting uid; a deferred message
 *    shows the queue's owners (mess qmailq; info, local, remote qmails).
 * 2. SMTP in through tcpserver running as qmaild: `invoked from network`.
 * 3. A .qmail program runs as qmtest1, with no supplementary group but its gid.
 * 4. Nothing runs as uid 0: mail to root goes to ~alias/.qmail-root
 *    (qmail-getpw(8): an account with uid 0 is no user), a users/assign
 *    entry with uid 0 defers with qmail-lspawn's "Not allowed to perform
 *    deliveries as root.", and lspawn's delivery workers are never uid 0.
 *
 * The alias user's home comes from /etc/passwd (qmail-getpw): the test points
 * it at this tree's alias directory and restores it afterwards.
 * Needs root (skips with the reason otherwise).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, openSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { ROOT, isRoot, ours, tmpdir, until, freePort, smtpReplies } from './helpers.ts';
import { getpwnam } from '../src/lib/passwd.ts';
import { qmailIds } from '../src/lib/qmailids.ts';
import { accountCmd } from './pop3helpers.ts';

const NEEDED = ['qmail-queued', 'qmail-inject', 'setuidgid', 'tcpserver', 'tcprules', 'softlimit', 'qmail-smtpd', 'qmail-start', 'qmail-send', 'qmail-lspawn', 'qmail-rspawn', 'qmail-clean', 'qmail-newu'];
const missing = NEEDED.filter((n) => !existsSync(ours(n)));
const othersBlocked = isRoot && ((): boolean => {
  for (let d = ROOT; d !== ''; d = d.slice(0, d.lastIndexOf('/'))) if ((statSync(d).mode & 0o001) === 0) return true;
  return false;
})();
const skip = !isRoot ? 'the system install needs root (qmail users, useradd, setuidgid)' : othersBlocked ? "qmail's users cannot reach the checkout" : missing.length > 0 ? `not built: ${missing.join(', ')}` : '';
if (skip) console.warn(`system install tests skipped: ${skip}`);

const USER = 'qmtest1';
const NOBODY = 65534;

/**
 * usermod -d HOME USER, waiting while a process of USER runs (usermod refuses
 * then; a root qmail-lspawn's worker lingers 30 s after its last delivery,
 * e.g. one of test/lspawn.test.ts delivering to alias).
 */
async function setHome(user: string, home: string): Promise<void> {
  for (let i = 0; ; i++) {
    const r = await execa('usermod', ['-d', home, user], { reject: false });
    if (r.exitCode === 0) return;
    if (i >= 150 || !/currently used by process|lock|try again/i.test(r.stderr)) throw new Error(`usermod -d ${home} ${user}: ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** A service started from its run script, its output kept line by line. */
interface Svc {
  proc: ChildProcess;
  out: string[];
}

function runService(dir: string): Svc {
  const proc = spawn(`${dir}/run`, [], { cwd: dir, env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  let part = '';
  const take = (b: Buffer): void => {
    const lines = (part + b.toString('latin1')).split('\n');
    part = lines.pop()!;
    out.push(...lines);
  };
  proc.stdout!.on('data', take);
  proc.stderr!.on('data', take);
  return { proc, out };
}

async function stop(s: Svc | undefined): Promise<void> {
  const p = s?.proc;
  if (!p || p.pid === undefined || p.pid <= 0 || p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 10000);
  await gone;
  clearTimeout(t);
}

/** Real, effective, saved and fs uids of a process (/proc/PID/status). */
function uids(pid: number): number[] {
  const m = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m ? m.slice(1).map(Number) : [];
}

/** Real, effective, saved and fs gids of a process. */
function gids(pid: number): number[] {
  const m = /^Gid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m ? m.slice(1).map(Number) : [];
}

/** The children of pid, with their command lines. */
function children(pid: number): Array<{ pid: number; cmd: string }> {
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push({ pid: Number(e), cmd: readFileSync(`/proc/${e}/cmdline`, 'latin1').split('\0').join(' ') });
    } catch {
      /* gone */
    }
  }
  return out;
}

describe.skipIf(skip !== '')('the system install as root, with qmail users', () => {
  const top = tmpdir('sysi-');
  chmodSync(top, 0o755);
  const L = { QMAILHOME: `${top}/var/qmail`, QMAIL_SERVICE: `${top}/service`, QMAIL_LOG: `${top}/var/log/qmail`, QMAIL_TCPSMTP: `${top}/etc/tcp.smtp` };
  const h = L.QMAILHOME;
  const uhome = `${top}/home/${USER}`;
  const box = `${uhome}/Maildir`;
  const abox = `${h}/alias/Maildir`;
  let port = 0;
  let aliasHome: string | undefined;
  let pw = { uid: -1, gid: -1 };
  let send: Svc | undefined;
  let queued: Svc | undefined;
  let smtpd: Svc | undefined;
  const env = { QMAILHOME: h, PATH: process.env.PATH ?? '/usr/bin:/bin' };

  /** The names in a maildir's new/, waiting until there are n. */
  async function delivered(dir: string, n: number): Promise<string[]> {
    await until(() => readdirSync(`${dir}/new`).length >= n, 15000, 50).catch(() => {
      throw new Error(`${dir}/new has ${readdirSync(`${dir}/new`).length} of ${n}; qmail-send log:\n${send?.out.join('\n')}`);
    });
    return readdirSync(`${dir}/new`).sort();
  }

  /** The one file of new/ that says `mark`, and its owner. */
  function find(dir: string, mark: string): { text: string; uid: number } {
    for (const f of readdirSync(`${dir}/new`)) {
      const text = readFileSync(`${dir}/new/${f}`, 'latin1');
      if (text.includes(mark)) return { text, uid: statSync(`${dir}/new/${f}`).uid };
    }
    throw new Error(`no message with ${mark} in ${dir}`);
  }

  async function inject(as: string | undefined, rcpts: string[], subject: string): Promise<void> {
    const cmd = as ? [ours('setuidgid'), as, `${h}/bin/qmail-inject`] : [`${h}/bin/qmail-inject`];
    const r = await execa(cmd[0], [...cmd.slice(1), ...rcpts], { env, extendEnv: false, input: `Subject: ${subject}\n\n${subject}\n`, reject: false });
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
  }

  beforeAll(async () => {
    port = await freePort();
    const closed = await freePort(); // nothing listens here: remote deliveries defer
    const setupEnv = { ...L, QMAIL_LISTEN: '127.0.0.1', QMAIL_SMTP_PORT: String(port), QMAIL_POP3_PORT: String(await freePort()) };
    // qmail-getpw takes the alias user's home from passwd: this tree's alias directory
    // (an alias user left by an earlier run points elsewhere; restored afterwards)
    aliasHome = getpwnam('alias')?.home;
    if (aliasHome !== undefined) await setHome('alias', `${h}/alias`);
    let r;
    for (let i = 0; ; i++) {
      r = await execa(`${ROOT}/qmailctl`, ['setup', 'mail.example.com'], { env: setupEnv, reject: false });
      if (r.exitCode === 0 || i === 5 || !/lock|try again/i.test(r.stderr)) break;
      await new Promise((res) => setTimeout(res, 300));
    }
    expect(r.stderr).toBe('');
    expect(r.stdout.endsWith('Congratulations, your LWQ installation looks good!')).toBe(true);
    const ids = qmailIds();
    for (const [n, v] of [...Object.entries(ids.users), ...Object.entries(ids.groups)]) expect(v, n).toBeDefined();


    mkdirSync(`${top}/home`, { mode: 0o755 });
    const had = getpwnam(USER);
    if (!had) await accountCmd('useradd', ['-M', '-d', uhome, '-s', '/bin/sh', USER]);
    else if (had.home !== uhome) await setHome(USER, uhome);
    const u = getpwnam(USER)!;
    pw = { uid: u.uid, gid: u.gid };
    for (const d of [uhome, box, `${box}/tmp`, `${box}/new`, `${box}/cur`]) {
      mkdirSync(d, { mode: d === uhome ? 0o755 : 0o700 });
      chownSync(d, pw.uid, pw.gid);
    }
    for (const [f, v] of Object.entries({ '.qmail-prog': '|id -u >prog.out; id -G >>prog.out\n', '.qmail-defer': '|exit 111\n' })) {
      writeFileSync(`${uhome}/${f}`, v, { mode: 0o644 });
      chownSync(`${uhome}/${f}`, pw.uid, pw.gid);
    }
    writeFileSync(`${h}/control/smtproutes`, `remote.example:[127.0.0.1]:${closed}\n`);
    writeFileSync(`${h}/users/assign`, `=toor:root:0:0:/root:::\n.\n`);
    await execa(`${h}/bin/qmail-newu`, [], { env, extendEnv: false });

    queued = runService(`${h}/supervise/qmail-queued`);
    send = runService(`${h}/supervise/qmail-send`);
    smtpd = runService(`${h}/supervise/qmail-smtpd`);
    const svcs = { queued, send, smtpd };
    await until(() => existsSync(`${h}/qmail-queued/socket`) && send!.out.some((l) => /status: local 0\/10 remote 0\/20/.test(l)) && smtpd!.out.some((l) => /tcpserver: status: 0\//.test(l)), 20000, 50).catch(() => {
      throw new Error(`services did not come up:\n${Object.entries(svcs).map(([k, s]) => `${k}: ${s.out.join('\n')}`).join('\n')}`);
    });
  }, 60000);

  afterAll(async () => {
    // qmail-send's spawners and lspawn's workers outlive it by a moment: wait for every one
    const tree = (pid: number): number[] => children(pid).flatMap((c) => [c.pid, ...tree(c.pid)]);
    const all = [smtpd, send, queued].flatMap((s) => (s?.proc.pid ? tree(s.proc.pid) : []));
    await Promise.all([stop(smtpd), stop(send), stop(queued)]);
    await until(() => all.every((p) => !existsSync(`/proc/${p}`)), 15000, 50).catch(() => undefined);
    if (aliasHome !== undefined) await setHome('alias', aliasHome);
  }, 60000);

  it('the services run as the setup arranges: send qmails, clean qmailq, rspawn qmailr, lspawn root (all gid qmail), queued qmailq, tcpserver qmaild:nofiles', () => {
    const ids = qmailIds().users;
    const sp = send!.proc.pid!;
    expect(uids(sp)).toEqual(Array(4).fill(ids.qmails));
    const kids = children(sp);
    const who = (re: RegExp): number[] => uids(kids.find((k) => re.test(k.cmd))!.pid);
    expect(who(/qmail-clean/)).toEqual(Array(4).fill(ids.qmailq));
    expect(who(/qmail-rspawn/)).toEqual(Array(4).fill(ids.qmailr));
    expect(who(/qmail-lspawn/)).toEqual([0, 0, 0, 0]);
    expect(uids(queued!.proc.pid!)).toEqual(Array(4).fill(ids.qmailq));
    expect(uids(smtpd!.proc.pid!)).toEqual(Array(4).fill(ids.qmaild));
    expect(statSync(`${h}/qmail-queued/socket`).uid).toBe(ids.qmailq);
    // gid qmail for qmail-start's children and the queue service, nofiles for tcpserver (LWQ's NOFILESGID)
    const { qmail, nofiles } = qmailIds().groups;
    for (const pid of [sp, ...kids.map((k) => k.pid), queued!.proc.pid!]) expect(gids(pid)).toEqual(Array(4).fill(qmail));
    expect(gids(smtpd!.proc.pid!)).toEqual(Array(4).fill(nofiles));
  });

  it('qmail-inject by nobody and by root, qmail-queue by root: delivered as the recipient, Received names the injecting uid', async () => {
    await inject('nobody', [`${USER}@mail.example.com`], 'from-nobody');
    await inject(undefined, [`${USER}@mail.example.com`], 'from-root');
    // root's qmail-queue writes the queue itself: the files must still be qmailq's for lspawn to take them
    writeFileSync(`${top}/m`, 'Subject: qq-root\n\nqq-root\n');
    writeFileSync(`${top}/e`, `Froot@mail.example.com\0T${USER}@mail.example.com\0\0`, 'latin1');
    const [m, e] = [openSync(`${top}/m`, 'r'), openSync(`${top}/e`, 'r')];
    const qq = spawn(`${h}/bin/qmail-queue`, [], { env, stdio: [m, e, 'inherit'] });
    closeSync(m);
    closeSync(e);
    expect(await new Promise((r) => qq.on('close', r))).toBe(0);
    await delivered(box, 3);
    const a = find(box, 'from-nobody');
    const b = find(box, 'from-root');
    const c = find(box, 'qq-root');
    for (const x of [a, b, c]) expect(x.uid).toBe(pw.uid);
    expect(c.text).toMatch(new RegExp(`^Return-Path: <root@mail\\.example\\.com>\\nDelivered-To: ${USER}@mail\\.example\\.com\\nReceived: \\(qmail ${qq.pid} invoked by uid 0\\); `));
    expect(a.text).toMatch(new RegExp(`^Return-Path: <[^>]*>\\nDelivered-To: ${USER}@mail\\.example\\.com\\nReceived: \\(qmail \\d+ invoked by uid ${NOBODY}\\); `));
    expect(b.text).toMatch(new RegExp(`^Return-Path: <[^>]*>\\nDelivered-To: ${USER}@mail\\.example\\.com\\nReceived: \\(qmail \\d+ invoked by uid 0\\); `));
  });

  it("a deferred message's queue files: mess qmailq, info/local/remote qmails", async () => {
    const from = send!.out.length;
    await inject('nobody', [`${USER}-defer@mail.example.com`, 'someone@remote.example'], 'deferred');
    await until(() => send!.out.slice(from).filter((l) => /: deferral: /.test(l)).length >= 2, 15000, 50);
    const ids = qmailIds().users;
    const q = `${h}/queue`;
    const info = readdirSync(`${q}/info`).flatMap((s) => readdirSync(`${q}/info/${s}`).map((n) => `${s}/${n}`));
    expect(info).toHaveLength(1);
    expect(statSync(`${q}/mess/${info[0]}`).uid).toBe(ids.qmailq);
    for (const d of ['info', 'local', 'remote']) expect([d, statSync(`${q}/${d}/${info[0]}`).uid]).toEqual([d, ids.qmails]);
  });

  it('a bounce is queued by qmail-send running as qmails (invoked for bounce) and delivered as the sender', async () => {
    const n = readdirSync(`${box}/new`).length;
    const r = await execa(ours('setuidgid'), ['nobody', `${h}/bin/qmail-inject`, '-f', `${USER}@mail.example.com`, 'nosuch@mail.example.com'], { env, extendEnv: false, input: 'Subject: bounce-me\n\nbounce-me\n', reject: false });
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
    await delivered(box, n + 1);
    const m = find(box, 'bounce-me');
    expect(m.uid).toBe(pw.uid);
    expect(m.text).toMatch(new RegExp(`^Return-Path: <>\\nDelivered-To: ${USER}@mail\\.example\\.com\\nReceived: \\(qmail \\d+ invoked for bounce\\); `));
    expect(m.text).toContain('Sorry, no mailbox here by that name. (#5.1.1)');
    // qmail-send hears the service's answer, records the bounce and finishes the message
    const id = /^info msg (\d+): .* from <qmtest1@mail\.example\.com> /.exec(send!.out.find((l) => /^info msg \d+: .* from <qmtest1@mail\.example\.com> /.test(l))!)![1];
    await until(() => send!.out.includes(`end msg ${id}`), 15000, 50);
    expect(send!.out.filter((l) => l.startsWith(`bounce msg ${id} qp `))).toHaveLength(1);
  });

  it('SMTP through tcpserver as qmaild: invoked from network, delivered as the recipient', async () => {
    const n = readdirSync(`${box}/new`).length;
    const rep = await smtpReplies(port, ['HELO client.example\r\n', 'MAIL FROM:<a@client.example>\r\n', `RCPT TO:<${USER}@mail.example.com>\r\n`, 'DATA\r\n', 'Subject: via-smtp\r\n\r\nvia-smtp\r\n.\r\n', 'QUIT\r\n']);
    expect(rep[5]).toMatch(/^250 ok \d+ qp \d+\r\n$/);
    await delivered(box, n + 1);
    const m = find(box, 'via-smtp');
    expect(m.uid).toBe(pw.uid);
    expect(m.text).toMatch(new RegExp(`^Return-Path: <a@client\\.example>\\nDelivered-To: ${USER}@mail\\.example\\.com\\nReceived: \\(qmail \\d+ invoked from network\\); [^\\n]+\\nReceived: from unknown \\(HELO client\\.example\\) \\(127\\.0\\.0\\.1\\)\\n`));
  });

  it("a .qmail program runs as the recipient's uid and gid, no other group", async () => {
    await inject('nobody', [`${USER}-prog@mail.example.com`], 'prog');
    await until(() => existsSync(`${uhome}/prog.out`) && readFileSync(`${uhome}/prog.out`, 'latin1').split('\n').length === 3, 15000, 50);
    expect(readFileSync(`${uhome}/prog.out`, 'latin1')).toBe(`${pw.uid}\n${pw.gid}\n`);
    expect(statSync(`${uhome}/prog.out`).uid).toBe(pw.uid);
  });

  it('nothing as uid 0: root goes to ~alias/.qmail-root, an assignment to uid 0 defers, workers never run as root', async () => {
    const ids = qmailIds().users;
    const from = send!.out.length;
    await inject('nobody', ['root@mail.example.com', 'toor@mail.example.com'], 'for-root');
    await delivered(abox, 1);
    const m = find(abox, 'for-root');
    expect(m.uid).toBe(ids.alias);
    expect(m.text).toMatch(/^Return-Path: <[^>]*>\nDelivered-To: root@mail\.example\.com\n/);
    await until(() => send!.out.slice(from).some((l) => /: deferral: Not_allowed_to_perform_deliveries_as_root\.\/$/.test(l)), 15000, 50);
    const lspawn = children(send!.proc.pid!).find((k) => /qmail-lspawn/.test(k.cmd))!;
    const workers = children(lspawn.pid);
    expect(workers.length).toBeGreaterThan(0);
    for (const w of workers) expect(uids(w.pid)).not.toContain(0);
    const owners = [box, abox].flatMap((d) => readdirSync(`${d}/new`).map((f) => statSync(`${d}/new/${f}`).uid));
    expect(owners).not.toContain(0);
  });

  it('TERM: qmail-send (as qmails) finishes and exits 0, its spawners after it', async () => {
    const p = send!.proc;
    const exited = new Promise<[number | null, string | null]>((r) => p.once('close', (c, sig) => r([c, sig])));
    p.kill('SIGTERM');
    const late = new Promise<string>((r) => setTimeout(() => r('still running 15 s after TERM'), 15000).unref());
    expect(await Promise.race([exited, late])).toEqual([0, null]);
    expect(send!.out.at(-1)).toBe('status: exiting');
  });

  it("setup's check names an alias user whose home is not this tree's alias directory, with the usermod that fixes it", async () => {
    // (setHome waits for lspawn's worker that ran as alias: it ends once qmail-send is gone)
    await setHome('alias', `${top}/elsewhere`);
    try {
      // setup again: nothing to create, then its check (a system install's: accounts and owners too)
      const r = await execa(`${ROOT}/qmailctl`, ['setup', 'mail.example.com'], { env: { ...L }, reject: false });
      expect([r.exitCode, r.stdout]).toEqual([0, `! user alias has home directory ${top}/elsewhere, so mail for root and postmaster goes there, not to ${h}/alias\n...try: usermod -d ${h}/alias alias`]);
    } finally {
      await setHome('alias', `${h}/alias`);
    }
  }, 45000);
});
