/**
 * qmailctl: LWQ's help and usage texts, `setup` building a system-style tree
 * under a temporary root (QMAILHOME, QMAIL_SERVICE, QMAIL_LOG, QMAIL_TCPSMTP;
 * QMAILCTL_NOACCOUNTS keeps this machine's /etc/passwd untouched), its run
 * scripts against LWQ's text, idempotence (edits kept), `check` with the
 * fixes it prints, `cdb` read by Debian's tcprulescheck, `logs` through
 * tai64nlocal, and svscan on the tree: kill -9 of svscan leaves the services
 * running and a restarted svscan starts no duplicates; a typo in a run script
 * shows in stat and the log.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { ROOT, isRoot, ours, theirs, tmpdir, until, freePort } from './helpers.ts';
import { configFast } from '../src/lib/deploy/tree.ts';
import { qmailIds } from '../src/lib/qmailids.ts';

const QMAILCTL = `${ROOT}/qmailctl`;
const NEEDED = ['svscan', 'supervise', 'svc', 'svstat', 'svok', 'multilog', 'tcpserver', 'tcprules', 'softlimit', 'tai64nlocal', 'qmail-start', 'qmail-send', 'qmail-smtpd', 'qmail-popup', 'qmail-pop3d', 'qmail-qstat'];
const missing = NEEDED.filter((n) => !existsSync(ours(n)));
const noRun = !isRoot ? 'qmailctl setup needs root' : missing.length > 0 ? `not committed yet: ${missing.join(', ')}` : '';
if (noRun) console.warn(`qmailctl setup tests skipped: ${noRun}`);

const HELP = `   stop -- stops mail service (smtp connections refused, nothing goes out)
  start -- starts mail service (smtp connection accepted, mail can go out)
  pause -- temporarily stops mail service (connections accepted, nothing leaves)
   cont -- continues paused mail service
   stat -- displays status of mail service
    cdb -- rebuild the tcpserver cdb file for smtp
restart -- stops and restarts smtp, sends qmail-send a TERM & restarts it
doqueue -- schedules queued messages for immediate delivery
 reload -- sends qmail-send HUP, rereading locals and virtualdomains
  queue -- shows status of queue
   alrm -- same as doqueue
  flush -- same as doqueue
    hup -- same as reload
  setup -- installs qmail: users, qmail home, control, aliases, services
  check -- checks the installation (owners, modes, links), prints fixes
   logs -- follows a service's log: logs [send|smtpd|pop3d]`;

describe('qmailctl (LWQ 2.8.2.1 texts)', () => {
  it('help prints LWQ text, then our three commands', async () => {
    const r = await execa(QMAILCTL, ['help']);
    expect(r.stdout).toBe(HELP);
  });

  it('an unknown command prints the usage line and exits 1', async () => {
    const r = await execa(QMAILCTL, ['bogus'], { reject: false });
    expect(r.stdout).toBe(`Usage: ${QMAILCTL} {start|stop|restart|doqueue|flush|reload|stat|pause|cont|cdb|queue|help|setup|check|logs}`);
    expect(r.exitCode).toBe(1);
  });
});

describe('config-fast', () => {
  it("derives defaultdomain and plusdomain exactly as config-fast's sed lines do", async () => {
    for (const fqdn of ['dolphin.example.com', 'mail.example.com', 'a.b.c.d.e', 'example.com', 'vm', 'mash.local', 'x..y.z']) {
      const sed = async (e: string): Promise<string> => (await execa('sed', [e], { input: `${fqdn}\n` })).stdout;
      const c = configFast(fqdn);
      expect(c.defaultdomain).toBe(await sed('s/^\\([^\\.]*\\)\\.\\([^\\.]*\\)\\./\\2\\./'));
      expect(c.plusdomain).toBe(await sed('s/^.*\\.\\([^\\.]*\\)\\.\\([^\\.]*\\)$/\\1.\\2/'));
      expect([c.me, c.locals, c.rcpthosts]).toEqual([fqdn, fqdn, fqdn]);
    }
  });
});

describe.skipIf(noRun !== '')('qmailctl setup / check / cdb / logs, svscan on the tree', () => {
  const top = tmpdir('qctl-');
  chmodSync(top, 0o755);
  const L = { QMAILHOME: `${top}/var/qmail`, QMAIL_SERVICE: `${top}/service`, QMAIL_LOG: `${top}/var/log/qmail`, QMAIL_TCPSMTP: `${top}/etc/tcp.smtp` };
  const h = L.QMAILHOME;
  const ports = { smtp: 0, pop3: 0 };
  const env = (): Record<string, string> => ({ ...L, QMAILCTL_NOACCOUNTS: '1', QMAIL_LISTEN: '127.0.0.1', QMAIL_SMTP_PORT: String(ports.smtp), QMAIL_POP3_PORT: String(ports.pop3) });
  const ctl = (...args: string[]) => execa(QMAILCTL, args, { env: env(), reject: false });
  let svscan: ResultPromise | undefined;
  const dirs = ['qmail-send', 'qmail-smtpd', 'qmail-pop3d', 'qmail-queued'].flatMap((s) => [`${L.QMAIL_SERVICE}/${s}`, `${L.QMAIL_SERVICE}/${s}/log`]);

  afterAll(async () => {
    if (svscan?.pid) svscan.kill('SIGKILL');
    await execa(ours('svc'), ['-dx', ...dirs], { reject: false });
    await until(async () => (await execa(ours('svok'), [dirs[0]], { reject: false })).exitCode !== 0, 20000, 200).catch(() => undefined);
    await execa(ours('svc'), ['-dkx', ...dirs], { reject: false });
  }, 40000);

  it('setup builds the tree config-fast style and ends with the congratulation', async () => {
    ports.smtp = await freePort();
    ports.pop3 = await freePort();
    const r = await ctl('setup', 'mail.example.com', 'dave');
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`created ${h}/control/me`);
    expect(r.stdout.endsWith('Congratulations, your LWQ installation looks good!')).toBe(true);
    const c = (n: string): string => readFileSync(`${h}/control/${n}`, 'utf8');
    expect([c('me'), c('defaultdomain'), c('plusdomain'), c('locals'), c('rcpthosts')]).toEqual(['mail.example.com\n', 'example.com\n', 'example.com\n', 'mail.example.com\n', 'mail.example.com\n']);
    expect(c('concurrencyincoming')).toBe('20\n');
    expect(c('defaultdelivery')).toBe('./Maildir/\n');
    expect(readFileSync(`${h}/alias/.qmail-root`, 'utf8')).toBe('dave\n');
    expect(readFileSync(`${h}/alias/.qmail-mailer-daemon`, 'utf8')).toBe('dave\n');
    expect(readFileSync(L.QMAIL_TCPSMTP, 'utf8')).toBe('127.:allow,RELAYCLIENT=""\n');
    expect(readFileSync(`${h}/supervise/qmail-send/run`, 'utf8')).toBe(`#!/bin/sh\nexec ${h}/rc\n`);
    // LWQ's `setuidgid qmaill multilog ...` where qmaill exists (test/system-install.test.ts creates qmail's users)
    const asQmaill = qmailIds().users.qmaill !== undefined ? `${ROOT}/bin/setuidgid qmaill ` : '';
    expect(readFileSync(`${h}/supervise/qmail-send/log/run`, 'utf8')).toBe(`#!/bin/sh\nexec ${asQmaill}${ROOT}/bin/multilog t ${L.QMAIL_LOG}\n`);
    const smtpd = readFileSync(`${h}/supervise/qmail-smtpd/run`, 'utf8');
    for (const line of [
      'MAXSMTPD=`cat ' + h + '/control/concurrencyincoming`',
      'LOCAL=`head -1 ' + h + '/control/me`',
      'if [ -z "$QMAILDUID" -o -z "$NOFILESGID" -o -z "$MAXSMTPD" -o -z "$LOCAL" ]; then',
      `if [ ! -f ${h}/control/rcpthosts ]; then`,
      `    echo "No ${h}/control/rcpthosts!"`,
      `    echo "Refusing to start SMTP listener because it'll create an open relay"`,
      `    ${ROOT}/bin/tcpserver -v -R -l "$LOCAL" -x ${L.QMAIL_TCPSMTP}.cdb -c "$MAXSMTPD" \\`,
      `        -u "$QMAILDUID" -g "$NOFILESGID" 127.0.0.1 ${ports.smtp} ${h}/bin/qmail-smtpd 2>&1`,
    ])
      expect(smtpd.split('\n')).toContain(line);
    expect(readFileSync(`${h}/rc`, 'utf8')).toContain(`qmail-start "\`cat ${h}/control/defaultdelivery\`"`);
  });

  it('a second setup creates nothing and keeps the administrator\'s edits', async () => {
    writeFileSync(`${h}/control/me`, 'edited.example.com\n');
    const r = await ctl('setup', 'other.example.com', 'dave');
    expect(r.stdout).toBe('Congratulations, your LWQ installation looks good!');
    expect(readFileSync(`${h}/control/me`, 'utf8')).toBe('edited.example.com\n');
    writeFileSync(`${h}/control/me`, 'mail.example.com\n');
  });

  it('check prints each problem with the fix to try, like inst_check', async () => {
    const run = `${h}/supervise/qmail-pop3d/run`;
    chmodSync(run, 0o644);
    const rh = readFileSync(`${h}/control/rcpthosts`);
    await execa('rm', [`${h}/control/rcpthosts`]);
    const r = await ctl('check');
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain(`! ${run} is not executable\n...try: chmod 755 ${run}`);
    expect(r.stdout).toContain(`! ${h}/control/rcpthosts does not exist: qmail-smtpd refuses to start (open relay)\n...try: head -1 ${h}/control/me > ${h}/control/rcpthosts`);
    chmodSync(run, 0o755);
    writeFileSync(`${h}/control/rcpthosts`, rh);
    expect((await ctl('check')).stdout).toBe('Congratulations, your LWQ installation looks good!');
  });

  it.skipIf(!theirs('tcprulescheck'))("cdb rebuilds the rules, as Debian's tcprulescheck reads them", async () => {
    writeFileSync(L.QMAIL_TCPSMTP, '127.0.0.1:allow,RELAYCLIENT=""\n:deny\n');
    const r = await ctl('cdb');
    expect(r.stdout).toBe(`Reloaded ${L.QMAIL_TCPSMTP}.`);
    const t = await execa(theirs('tcprulescheck')!, [`${L.QMAIL_TCPSMTP}.cdb`], { env: { TCPREMOTEIP: '127.0.0.1' }, extendEnv: false });
    expect(t.stdout).toBe('rule 127.0.0.1:\nset environment variable RELAYCLIENT=\nallow connection');
    writeFileSync(L.QMAIL_TCPSMTP, '127.:allow,RELAYCLIENT=""\n');
    await ctl('cdb');
  });

  it('svscan runs the tree; kill -9 svscan leaves the services up and a new svscan starts no duplicates', async () => {
    const start = () => execa(ours('svscan'), [L.QMAIL_SERVICE], { env: { PATH: process.env.PATH, ...L }, extendEnv: false, reject: false, stdio: 'ignore' });
    svscan = start();
    const up = async (): Promise<number> => ((await ctl('stat')).stdout.match(/: up \(pid \d+\) \d+ seconds$/gm) ?? []).length;
    await until(async () => (await up()) === 8, 30000, 300).catch(async () => {
      throw new Error(`not all up:\n${(await ctl('stat')).stdout}\n${(await ctl('stat')).stderr}`);
    });
    const pids = (await ctl('stat')).stdout.match(/pid \d+/g);
    svscan.kill('SIGKILL');
    await svscan;
    svscan = start();
    await new Promise((r) => setTimeout(r, 2500));
    expect((await ctl('stat')).stdout.match(/pid \d+/g)).toEqual(pids);
    // every supervise of the tree holds its lock: a second one could not have started
    for (const d of dirs) expect((await execa(ours('svok'), [d], { reject: false })).exitCode).toBe(0);
  });

  it('a typo in a run script shows in stat (restarting) and in the log', async () => {
    const run = `${h}/supervise/qmail-pop3d/run`;
    const keep = readFileSync(run, 'utf8');
    writeFileSync(run, keep.replace(`${ROOT}/bin/tcpserver`, `${ROOT}/bin/tcpservr`));
    await execa(ours('svc'), ['-t', `${L.QMAIL_SERVICE}/qmail-pop3d`]);
    await until(() => /softlimit: fatal: unable to run \S+\/tcpservr: file does not exist/.test(readFileSync(`${L.QMAIL_LOG}/pop3d/current`, 'latin1')), 15000, 200);
    expect((await ctl('stat')).stdout).toMatch(/qmail-pop3d: up \(pid \d+\) [01] seconds/);
    writeFileSync(run, keep);
  });

  it('port in use: tcpserver cannot bind, visible in the log and stat; it comes up once the port is free', async () => {
    const sv = `${L.QMAIL_SERVICE}/qmail-smtpd`;
    await execa(ours('svc'), ['-d', sv]);
    await until(async () => /qmail-smtpd: down/.test((await ctl('stat')).stdout), 15000, 100);
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(ports.smtp, '127.0.0.1', () => r()));
    try {
      await execa(ours('svc'), ['-u', sv]);
      await until(() => /tcpserver: fatal: unable to bind: address already used/.test(readFileSync(`${L.QMAIL_LOG}/smtpd/current`, 'latin1')), 15000, 200);
      expect((await ctl('stat')).stdout).toMatch(/qmail-smtpd: up \(pid \d+\) [01] seconds/);
    } finally {
      await new Promise<void>((r) => squatter.close(() => r()));
    }
    await until(async () => /qmail-smtpd: up \(pid \d+\) [2-9] seconds/.test((await ctl('stat')).stdout), 15000, 200);
  });

  it('an unreadable control file (concurrencyincoming) stops qmail-smtpd/run with LWQ\'s message', async () => {
    const ci = `${h}/control/concurrencyincoming`;
    await execa('sh', ['-c', `mv ${ci} ${ci}.keep && mkdir ${ci}`]);
    try {
      await execa(ours('svc'), ['-t', `${L.QMAIL_SERVICE}/qmail-smtpd`]);
      await until(() => readFileSync(`${L.QMAIL_LOG}/smtpd/current`, 'latin1').includes(`QMAILDUID, NOFILESGID, MAXSMTPD, or LOCAL is unset in\n`), 15000, 200);
      expect(readFileSync(`${L.QMAIL_LOG}/smtpd/current`, 'latin1')).toContain(`${h}/supervise/qmail-smtpd/run\n`);
    } finally {
      await execa('sh', ['-c', `rmdir ${ci} && mv ${ci}.keep ${ci}`]);
    }
  });

  it('logs follows the current log through tai64nlocal', async () => {
    const p = execa(QMAILCTL, ['logs', 'smtpd'], { env: env(), reject: false, buffer: false, detached: true });
    let got = '';
    p.stdout!.on('data', (b: Buffer) => (got += b.toString()));
    try {
      await until(() => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} tcpserver: status: 0\/20$/m.test(got), 15000, 100);
    } finally {
      process.kill(-p.pid!, 'SIGTERM');
      await p;
    }
  });
});
