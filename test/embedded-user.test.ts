/**
 * `npm start` as an ordinary user (issue 7: "as an ordinary user or as
 * root"): when the tests run as root, the whole thing runs as `nobody`
 * (uid 65534) in a folder nobody owns; otherwise as the invoking user. Mail
 * goes in with swaks and out with poplib, and Ctrl-C leaves no process.
 * test/embedded.test.ts covers the commands at length (as root).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { chmodSync, chownSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { ROOT, isRoot, ours, theirs, tmpdir, until, freePort } from './helpers.ts';

const NOBODY = 65534;
const SWAKS = theirs('swaks');
const PY = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => existsSync(p));
const missing = ['svscan', 'tcpserver', 'qmail-start', 'qmail-smtpd', 'qmail-popup', 'qmail-pop3d', 'checkpassword', 'qmail-poppass'].filter((n) => !existsSync(ours(n)));

/** nobody (others' permission bits) must be able to search every directory down to the checkout. */
function nobodyCanRun(): boolean {
  if (!isRoot) return true;
  for (let d = ROOT; d !== ''; d = d.slice(0, d.lastIndexOf('/'))) if ((statSync(d).mode & 0o001) === 0) return false;
  return true;
}

const skip = missing.length > 0 ? `not committed yet: ${missing.join(', ')}` : !SWAKS || !PY ? 'swaks or python3 not installed' : !nobodyCanRun() ? 'nobody cannot reach the checkout' : '';
if (skip) console.warn(`embedded (ordinary user) test skipped: ${skip}`);

describe.skipIf(skip !== '')('npm start as an ordinary user', () => {
  let proc: ResultPromise | undefined;
  afterAll(async () => {
    if (!proc?.pid) return;
    try {
      process.kill(-proc.pid, 'SIGINT');
    } catch {
      /* gone */
    }
    await Promise.race([proc, new Promise((r) => setTimeout(r, 60000))]);
  }, 70000);

  it('starts, takes mail with swaks, serves it with poplib, and Ctrl-C stops it all', async () => {
    const top = tmpdir('embu-');
    chmodSync(top, 0o755);
    const home = `${top}/home`;
    mkdirSync(home);
    if (isRoot) chownSync(home, NOBODY, NOBODY);
    const dir = `${home}/run`;
    const smtp = await freePort();
    const pop3 = await freePort();
    let out = '';
    proc = execa('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: { HOME: home, npm_config_cache: `${home}/.npm`, QMAIL_EMBEDDED_DIR: dir, QMAIL_SMTP_PORT: String(smtp), QMAIL_POP3_PORT: String(pop3), QMAIL_HOST: 'user.example' },
      uid: isRoot ? NOBODY : undefined,
      gid: isRoot ? NOBODY : undefined,
      detached: true,
      reject: false,
      buffer: false,
      stdin: 'ignore',
    });
    proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    await until(() => /password (\S+)/.test(out), 45000, 100);
    const password = /password (\S+)/.exec(out)![1];
    await until(async () => ((await execa(`${dir}/qmail/bin/qmailctl`, ['stat'])).stdout.match(/: up /g) ?? []).length === 8, 30000, 300); // 4 services + 4 logs
    // the services are up before tcpserver has bound its port: retry until it answers
    let s = '';
    await until(async () => {
      s = (await execa(SWAKS!, ['--server', `127.0.0.1:${smtp}`, '--to', 'mailer-daemon@user.example', '--body', 'as a user', '--timeout', '20'], { reject: false })).stdout;
      return !s.includes('Connection refused');
    }, 20000, 300);
    expect(s).toMatch(/<- {2}250 ok/);
    const py = `import poplib, sys, time
for i in range(50):
    p = poplib.POP3("127.0.0.1", ${pop3}, timeout=20); p.user("postmaster"); p.pass_(sys.argv[1])
    if p.stat()[0] > 0: break
    p.quit(); time.sleep(0.2)
print(b"\\n".join(p.retr(1)[1]).decode("latin1")); p.quit()`;
    const r = await execa(PY!, ['-c', py, password], { reject: false });
    expect(r.stdout).toContain('as a user');
    const ps1 = await execa('ps', ['-o', 'user=', '-p', String(proc.pid)]);
    expect(ps1.stdout.trim()).toBe(isRoot ? 'nobody' : (await execa('id', ['-un'])).stdout);
    process.kill(-proc.pid!, 'SIGINT');
    await proc;
    await until(() => out.includes('qmail stopped'), 60000, 200);
    const ps = await execa('ps', ['-eo', 'args']);
    expect(ps.stdout.split('\n').filter((l) => l.includes(dir))).toEqual([]);
    proc = undefined;
  }, 150000);
});
