/**
 * The embedded default as a user meets it (issue 7): started exactly as the
 * README says (`npm start` with QMAIL_EMBEDDED_DIR and the port variables,
 * in a fresh folder), then driven with real clients: swaks into the local
 * mailbox, Python's poplib out of it through qmail-pop3d, qmailctl's
 * commands (stat, stop/start, pause/cont, cdb, reload, doqueue), Debian's
 * tai64nlocal on the multilog directory, a broken configuration (no
 * rcpthosts), kill -9 of a service, and Ctrl-C (SIGINT to the foreground
 * process group) stopping everything.
 *
 * One instance serves the whole file (the tests run in order). Every process
 * is stopped in afterAll even when a test fails: SIGINT to the process group,
 * and if that does not end it, `svc -dkx` on every service and KILL to svscan.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { connect } from 'node:net';
import { ROOT, isRoot, ours, theirs, tmpdir, until, freePort } from './helpers.ts';

/** Programs the product runs; a missing one skips the file with its name. */
const NEEDED = ['svscan', 'supervise', 'svc', 'svstat', 'multilog', 'tcpserver', 'tcprules', 'softlimit', 'qmail-start', 'qmail-send', 'qmail-lspawn', 'qmail-rspawn', 'qmail-clean', 'qmail-smtpd', 'qmail-queue', 'qmail-qstat', 'qmail-newu', 'qmail-popup', 'qmail-pop3d', 'checkpassword', 'qmail-poppass'];
const missing = NEEDED.filter((n) => !existsSync(ours(n)));
const SWAKS = theirs('swaks');
const PY = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => existsSync(p));
const T64 = theirs('tai64nlocal');
/** As root the mailbox belongs to nobody, who must search every directory down to the checkout. */
const nobodyBlocked = isRoot && ((): boolean => {
  for (let d = ROOT; d !== ''; d = d.slice(0, d.lastIndexOf('/'))) if ((statSync(d).mode & 0o001) === 0) return true;
  return false;
})();
const skipReason =
  nobodyBlocked ? 'nobody cannot reach the checkout (the root-run mailbox belongs to nobody)' : missing.length > 0 ? `not committed yet: ${missing.join(', ')}` : !SWAKS ? 'swaks not installed' : !PY ? 'python3 not installed' : !T64 ? "Debian's tai64nlocal not installed" : '';
if (skipReason) console.warn(`embedded tests skipped: ${skipReason}`);

const HOST = 'embedded.example';

/** Resolves true when a TCP connection to port is accepted, false when refused. */
function accepts(port: number): Promise<boolean> {
  return new Promise((res) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      res(true);
    });
    c.once('error', () => res(false));
  });
}

describe.skipIf(skipReason !== '')('npm start (embedded default)', () => {
  let dir = '';
  let smtp = 0;
  let pop3 = 0;
  let proc: ResultPromise | undefined;
  let out = '';
  let svscanPid = 0;
  let password = '';
  const q = (): string => `${dir}/qmail`;
  const ctl = (...args: string[]) => execa(`${dir}/qmail/bin/qmailctl`, args, { reject: false });
  const maildir = (): string => `${dir}/mail/postmaster/Maildir`;
  const newMail = (): string[] => readdirSync(`${maildir()}/new`).map((f) => readFileSync(`${maildir()}/new/${f}`, 'latin1'));
  const sendLog = (): string => readFileSync(`${dir}/log/qmail/current`, 'latin1');
  const swaks = (to: string, extra: string[] = []) =>
    execa(SWAKS!, ['--server', `127.0.0.1:${smtp}`, '--from', 'sender@client.example', '--to', to, '--body', `body for ${to}`, '--timeout', '20', ...extra], { reject: false });
  const allUp = async (): Promise<boolean> => {
    const r = await ctl('stat');
    return (r.stdout.match(/: up \(pid \d+\) \d+ seconds$/gm) ?? []).length === 8;
  };
  const waitMail = (re: RegExp, ms = 20000): Promise<void> => until(() => newMail().some((m) => re.test(m)), ms, 100);

  beforeAll(async () => {
    dir = tmpdir('emb-');
    chmodSync(dir, 0o755); // the mailbox belongs to nobody when we are root
    dir = `${dir}/run`;
    smtp = await freePort();
    pop3 = await freePort();
    proc = execa('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: { QMAIL_EMBEDDED_DIR: dir, QMAIL_SMTP_PORT: String(smtp), QMAIL_POP3_PORT: String(pop3), QMAIL_HOST: HOST },
      detached: true,
      reject: false,
      buffer: false,
      stdin: 'ignore',
    });
    proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    await until(() => /password (\S+)/.test(out), 45000, 100);
    password = /password (\S+)/.exec(out)![1];
    svscanPid = Number(/svscan pid (\d+)/.exec(out)![1]);
    await until(allUp, 30000, 300);
    await until(() => accepts(smtp), 20000, 200);
  }, 120000);

  afterAll(async () => {
    if (!proc?.pid) return;
    try {
      process.kill(-proc.pid, 'SIGINT');
    } catch {
      /* gone */
    }
    const done = await Promise.race([proc.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 70000))]);
    if (!done) {
      try {
        process.kill(svscanPid, 'SIGKILL');
      } catch {
        /* gone */
      }
      const dirs = ['qmail-send', 'qmail-smtpd', 'qmail-pop3d'].flatMap((s) => [`${dir}/service/${s}`, `${dir}/service/${s}/log`]);
      await execa(ours('svc'), ['-dkx', ...dirs], { reject: false });
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }, 90000);

  it('prints the addresses, the mailbox, its password, the logs and how to stop', () => {
    expect(out).toContain(`SMTP:     127.0.0.1 port ${smtp}`);
    expect(out).toContain(`POP3:     127.0.0.1 port ${pop3}`);
    expect(out).toContain(`mailbox:  postmaster@${HOST}`);
    expect(out).toContain(`${dir}/log/qmail/current`);
    expect(out).toMatch(/stop: +Ctrl-C/);
    expect(password).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });

  it('qmailctl stat shows all eight services up and the queue counts', async () => {
    const r = await ctl('stat');
    const lines = r.stdout.split('\n');
    const names = ['qmail-send', 'qmail-send/log', 'qmail-smtpd', 'qmail-smtpd/log', 'qmail-pop3d', 'qmail-pop3d/log', 'qmail-queued', 'qmail-queued/log'];
    names.forEach((n, i) => expect(lines[i]).toMatch(new RegExp(`^${dir}/service/${n}: up \\(pid \\d+\\) \\d+ seconds$`)));
    expect(lines[8]).toMatch(/^messages in queue: \d+$/);
    expect(lines[9]).toMatch(/^messages in queue but not yet preprocessed: \d+$/);
    expect(r.exitCode).toBe(0);
  });

  it('swaks delivers to postmaster and to root (an alias of it) in the Maildir; poplib retrieves it through qmail-pop3d', async () => {
    const a = await swaks(`postmaster@${HOST}`);
    expect(a.stdout).toMatch(/<- {2}250 ok \d+ qp \d+/);
    const b = await swaks(`root@${HOST}`);
    expect(b.stdout).toMatch(/<- {2}250 ok/);
    await waitMail(/body for postmaster@/);
    await waitMail(/body for root@/);
    // qmail-pop3d lists only messages whose mtime is before the current second
    await new Promise((r2) => setTimeout(r2, 1100));
    const py = [
      'import poplib, sys',
      `p = poplib.POP3("127.0.0.1", ${pop3}, timeout=20)`,
      'p.user("postmaster"); p.pass_(sys.argv[1])',
      'n = p.stat()[0]',
      'print(n)',
      'for i in range(1, n + 1): print(b"\\n".join(p.retr(i)[1]).decode("latin1"))',
      'p.quit()',
    ].join('\n');
    const r = await execa(PY!, ['-c', py, password], { reject: false });
    const diag = (): string => `${r.stdout}\n${readFileSync(`${dir}/log/qmail/pop3d/current`, 'latin1')}`;
    expect(r.stderr, diag()).toBe('');
    expect(Number(r.stdout.split('\n')[0]), diag()).toBeGreaterThanOrEqual(2);
    expect(r.stdout).toContain(`body for postmaster@${HOST}`);
    expect(r.stdout).toContain(`body for root@${HOST}`);
    const bad = await execa(PY!, ['-c', py, 'wrong'], { reject: false });
    expect(bad.stderr).toMatch(/-ERR authorization failed/);
  });

  it("Debian's tai64nlocal renders the new msg / delivery success lines of the multilog directory", async () => {
    await until(() => /delivery \d+: success/.test(sendLog()), 10000, 100);
    const r = await execa(T64!, { inputFile: `${dir}/log/qmail/current` });
    expect(r.stdout).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} new msg \d+$/m);
    expect(r.stdout).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} delivery \d+: success: /m);
    const s = await execa(T64!, { inputFile: `${dir}/log/qmail/smtpd/current` });
    expect(s.stdout).toMatch(/^\S+ \S+ tcpserver: ok \d+ /m);
  });

  it('a second npm start on the same folder refuses to run a second svscan', async () => {
    const r = await execa('npm', ['start', '--silent'], { cwd: ROOT, env: { QMAIL_EMBEDDED_DIR: dir }, reject: false });
    expect(r.stderr).toContain(`embedded: fatal: ${dir}/service/qmail-send is already supervised (another svscan runs on this folder)`);
    expect(r.exitCode).toBe(111);
  });

  it('qmailctl stop refuses SMTP and sends nothing; start resumes and delivers', async () => {
    const before = newMail().length;
    const r = await ctl('stop');
    expect(r.stdout).toBe('Stopping qmail...\n  qmail-smtpd\n  qmail-send\n  qmail-pop3d');
    await until(async () => !(await accepts(smtp)), 10000, 100);
    await until(async () => (await ctl('stat')).stdout.includes(`${dir}/service/qmail-send: down`), 20000, 200);
    // a message queued meanwhile (qmail-queue: message on fd 0, envelope on fd 1) stays in the queue
    writeFileSync(`${dir}/envelope`, `Fsender@${HOST}\0Tpostmaster@${HOST}\0\0`);
    const qq = await execa('sh', ['-c', `printf 'Subject: while-stopped\\n\\nx\\n' | ${ours('qmail-queue')} 1<${dir}/envelope`], { env: { QMAILHOME: q() }, reject: false });
    expect(qq.exitCode).toBe(0);
    const st = await ctl('stat');
    expect(st.stdout).toMatch(/qmail-smtpd: down \d+ seconds/);
    await new Promise((r2) => setTimeout(r2, 1500));
    expect(newMail().length).toBe(before);
    expect((await ctl('queue')).stdout).toMatch(/^messages in queue: 1$/m);
    const s = await ctl('start');
    expect(s.stdout).toBe('Starting qmail');
    await until(allUp, 20000, 300);
    await until(() => accepts(smtp), 20000, 200);
    await waitMail(/Subject: while-stopped/);
  });

  it('qmailctl pause holds deliveries; cont releases them', async () => {
    const p = await ctl('pause');
    expect(p.stdout).toBe('Pausing qmail-send\nPausing qmail-smtpd\nPausing qmail-pop3d');
    // svc returns once the command is in the FIFO; supervise applies it a moment later
    const paused = async (): Promise<number> => ((await ctl('stat')).stdout.match(/: up \(pid \d+\) \d+ seconds, paused$/gm) ?? []).length;
    await until(async () => (await paused()) === 3, 10000, 100).catch(() => undefined);
    const n = await paused();
    const statPaused = (await ctl('stat')).stdout;
    const before = newMail().length;
    const qq = await execa('sh', ['-c', `printf 'Subject: while-paused\\n\\nx\\n' | ${ours('qmail-queue')} 1<${dir}/envelope`], { env: { QMAILHOME: q() }, reject: false });
    await new Promise((r2) => setTimeout(r2, 1500));
    const held = newMail().length === before;
    const c = await ctl('cont');
    expect(c.stdout).toBe('Continuing qmail-send\nContinuing qmail-smtpd\nContinuing qmail-pop3d');
    expect(n, statPaused + readFileSync(`${dir}/log/qmail/pop3d/current`, 'latin1').slice(-600) + readFileSync(`${dir}/log/qmail/smtpd/current`, 'latin1').slice(-600)).toBe(3);
    expect(qq.exitCode).toBe(0);
    expect(held).toBe(true);
    await until(async () => (await paused()) === 0, 10000, 100);
    await waitMail(/Subject: while-paused/);
    expect((await swaks(`postmaster@${HOST}`, ['--header', 'Subject: after-cont'])).stdout).toMatch(/<- {2}250 ok/);
    await waitMail(/Subject: after-cont/);
  });

  it('qmailctl cdb after adding a relay rule lets that client relay, without a restart', async () => {
    const rcpt = ['--quit-after', 'RCPT'];
    writeFileSync(`${dir}/etc/tcp.smtp`, '127.:allow\n');
    expect((await ctl('cdb')).stdout).toBe(`Reloaded ${dir}/etc/tcp.smtp.`);
    const no = await swaks('someone@elsewhere.example', rcpt);
    expect(no.stdout).toMatch(/<\*\* 553 sorry, that domain isn't in my list of allowed rcpthosts/);
    writeFileSync(`${dir}/etc/tcp.smtp`, '127.0.0.1:allow,RELAYCLIENT=""\n127.:allow\n');
    await ctl('cdb');
    const yes = await swaks('someone@elsewhere.example', rcpt);
    expect(yes.stdout).toMatch(/<- {2}250 ok/);
    writeFileSync(`${dir}/etc/tcp.smtp`, '127.:allow,RELAYCLIENT=""\n');
    await ctl('cdb');
  });

  it('qmailctl reload makes qmail-send reread locals', async () => {
    appendFileSync(`${q()}/control/locals`, 'other.example\n');
    const r = await ctl('reload');
    expect(r.stdout).toBe('Sending HUP signal to qmail-send.');
    await new Promise((r2) => setTimeout(r2, 500));
    expect((await swaks('postmaster@other.example')).stdout).toMatch(/<- {2}250 ok/);
    await until(() => /to local postmaster@other\.example/.test(sendLog()), 15000, 100);
    await waitMail(/body for postmaster@other\.example/);
  });

  it('qmailctl doqueue retries deferred mail at once', async () => {
    const flag = `${dir}/flaky-ok`;
    writeFileSync(`${q()}/alias/.qmail-flaky`, `|test -f ${flag} || exit 111\n${maildir()}/\n`, { mode: 0o644 });
    expect((await swaks(`flaky@${HOST}`)).stdout).toMatch(/<- {2}250 ok/);
    await until(() => /delivery \d+: deferral: /.test(sendLog()), 15000, 100);
    writeFileSync(flag, '');
    const r = await ctl('doqueue');
    expect(r.stdout).toBe('Flushing timeout table and sending ALRM signal to qmail-send.');
    await waitMail(/body for flaky@/, 15000);
  });

  /** The pid `qmailctl stat` shows for a service that is up, else 0. */
  const upPid = async (service: string): Promise<number> =>
    Number(new RegExp(`${service}: up \\(pid (\\d+)\\)`).exec((await ctl('stat')).stdout)?.[1] ?? 0);

  /** kill -9 a service's process (old, from upPid) and wait until supervise has started a new one. */
  const killAndAwaitRestart = async (service: string, old: number): Promise<void> => {
    expect(old).toBeGreaterThan(0); // kill(0) would kill the test runner's whole process group
    process.kill(old, 'SIGKILL');
    await until(async () => {
      const p = await upPid(service);
      return p !== 0 && p !== old;
    }, 15000, 200);
  };

  it('kill -9 of qmail-smtpd: supervise restarts it and mail flows again, logged through the same pipe', async () => {
    await killAndAwaitRestart('qmail-smtpd', await upPid('qmail-smtpd'));
    await until(() => accepts(smtp), 15000, 200);
    expect((await swaks(`postmaster@${HOST}`, ['--header', 'Subject: after-kill'])).stdout).toMatch(/<- {2}250 ok/);
    await waitMail(/Subject: after-kill/);
    await until(() => readFileSync(`${dir}/log/qmail/smtpd/current`, 'latin1').split('tcpserver: status: 0/20').length > 2, 5000, 100);
  });

  it('kill -9 of qmail-send with a message waiting: supervise restarts it, the message is delivered, the log keeps flowing', async () => {
    const old = await upPid('qmail-send');
    await execa(ours('svc'), ['-p', `${dir}/service/qmail-send`]);
    await until(async () => /qmail-send: up \(pid \d+\) \d+ seconds, paused/.test((await ctl('stat')).stdout), 10000, 100);
    const qq = await execa('sh', ['-c', `printf 'Subject: across-kill\\n\\nx\\n' | ${ours('qmail-queue')} 1<${dir}/envelope`], { env: { QMAILHOME: q() }, reject: false });
    expect(qq.exitCode).toBe(0);
    const lines = sendLog().split('\n').length;
    await killAndAwaitRestart('qmail-send', old);
    await waitMail(/Subject: across-kill/);
    await until(() => sendLog().split('\n').slice(lines - 1).some((l) => /delivery \d+: success/.test(l)), 10000, 100);
  });

  it('without control/rcpthosts qmail-smtpd refuses to start, as LWQ says, visible in its log and in stat; never an open relay', async () => {
    const rh = `${q()}/control/rcpthosts`;
    const keep = readFileSync(rh);
    unlinkSync(rh);
    await execa(ours('svc'), ['-t', `${dir}/service/qmail-smtpd`]);
    await until(() => readFileSync(`${dir}/log/qmail/smtpd/current`, 'latin1').includes(`No ${q()}/control/rcpthosts!`), 15000, 200);
    expect(readFileSync(`${dir}/log/qmail/smtpd/current`, 'latin1')).toContain("Refusing to start SMTP listener because it'll create an open relay");
    expect(await accepts(smtp)).toBe(false);
    expect((await ctl('stat')).stdout).toMatch(/qmail-smtpd: up \(pid \d+\) [01] seconds/);
    writeFileSync(rh, keep);
    await until(() => accepts(smtp), 15000, 200);
  });

  it('qmailctl restart prints LWQ\'s steps and every service comes back; queue shows qmail-qstat and qmail-qread', async () => {
    const r = await ctl('restart');
    expect(r.stdout).toBe('Restarting qmail:\n* Stopping qmail-smtpd.\n* Sending qmail-send SIGTERM and restarting.\n* Restarting qmail-smtpd.\n* Restarting qmail-pop3d.');
    await until(allUp, 30000, 300);
    await until(() => accepts(smtp), 20000, 200);
    const qu = await ctl('queue');
    expect(qu.stdout).toMatch(/^messages in queue: \d+\nmessages in queue but not yet preprocessed: \d+/);
  });

  it('qmailctl check finds nothing wrong in the embedded tree', async () => {
    const r = await ctl('check');
    expect(r.stdout).toBe('Congratulations, your LWQ installation looks good!');
    expect(r.exitCode).toBe(0);
  });

  it('Ctrl-C (SIGINT to the foreground process group) stops every service and exits 0', async () => {
    process.kill(-proc!.pid!, 'SIGINT');
    const r = await proc!;
    // npm itself dies of the SIGINT (as in a terminal); our process finishes the shutdown
    expect(r.exitCode === 0 || r.signal === 'SIGINT').toBe(true);
    await until(() => out.includes('qmail stopped'), 70000, 200);
    const ps = await execa('ps', ['-eo', 'args']);
    expect(ps.stdout.split('\n').filter((l) => l.includes(dir))).toEqual([]);
    expect(await accepts(smtp)).toBe(false);
    proc = undefined;
  }, 90000);
});
