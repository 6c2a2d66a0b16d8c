/**
 * Helpers for the POP3 tests: a mailbox owner's home with a Maildir (owned
 * by `nobody` when the tests run as root, since qmail-pop3d refuses uid 0),
 * deliveries through src/lib/deliver/maildir.ts with mtimes moved into the
 * past (qmail-pop3d lists only messages older than the current second), a
 * password file made with qmail-poppass, and Python's poplib as a client.
 */
import { chmodSync, chownSync, mkdirSync, readdirSync, utimesSync } from 'node:fs';
import { execa } from 'execa';
import { ROOT, isRoot, ours, tmpdir } from './helpers.ts';
import { maildirDeliver } from '../src/lib/deliver/maildir.ts';

export const NOBODY = 65534;

/** A fresh directory tree: DIR/home/Maildir/{new,cur,tmp} (nobody's when root) and DIR/poppasswd's path. */
export function makeHome(): { dir: string; home: string; maildir: string; passfile: string } {
  const dir = tmpdir('pop3-');
  chmodSync(dir, 0o755);
  const home = `${dir}/home`;
  const maildir = `${home}/Maildir`;
  for (const d of [home, maildir, `${maildir}/new`, `${maildir}/cur`, `${maildir}/tmp`]) {
    mkdirSync(d);
    if (isRoot) chownSync(d, NOBODY, NOBODY);
  }
  return { dir, home, maildir, passfile: `${dir}/poppasswd` };
}

/** Deliver messages in order; their mtimes are set to consecutive seconds a minute ago. Returns new/ names. */
export async function deliver(maildir: string, messages: Buffer[]): Promise<string[]> {
  const names: string[] = [];
  const base = Math.floor(Date.now() / 1000) - 3600;
  for (const [i, m] of messages.entries()) {
    const r = await maildirDeliver(maildir, m);
    if (!r.ok) throw new Error(r.text);
    const f = `${maildir}/${r.file!}`;
    utimesSync(f, base + i, base + i);
    if (isRoot) chownSync(f, NOBODY, NOBODY);
    names.push(r.file!);
  }
  return names;
}

/** The names in new/ and cur/ of a maildir, sorted. */
export function listing(maildir: string): string[] {
  return [...readdirSync(`${maildir}/new`).map((n) => `new/${n}`), ...readdirSync(`${maildir}/cur`).map((n) => `cur/${n}`)].sort();
}

/** Environment for the server: our bin/ first on PATH, the password file. */
export function popEnv(passfile: string): NodeJS.ProcessEnv {
  return { PATH: `${ROOT}/bin:/usr/bin:/bin`, POPPASSWD: passfile };
}

/** Add user with password to the password file (as nobody when root). */
export async function addUser(passfile: string, user: string, pass: string, home: string): Promise<void> {
  const ids = isRoot ? ['-u', String(NOBODY), '-g', String(NOBODY)] : [];
  await execa(ours('qmail-poppass'), [...ids, user, home], { input: pass + '\n', env: { POPPASSWD: passfile } });
}

/**
 * Run a poplib session: `ops` is Python code using `p` (a connected,
 * logged-in poplib.POP3 unless login is false) and `out` (a list whose
 * items, bytes made latin1 strings, are printed as JSON). Returns out.
 */
export async function poplib(port: number, user: string, pass: string, ops: string, login = true): Promise<unknown[]> {
  const code = `
import poplib, json, sys
def s(x):
    if isinstance(x, bytes): return x.decode('latin1')
    if isinstance(x, (list, tuple)): return [s(y) for y in x]
    return x
out = []
p = poplib.POP3('127.0.0.1', ${port}, timeout=20)
out.append(s(p.getwelcome()))
try:
    if ${login ? 'True' : 'False'}:
        p.user(sys.argv[1]); p.pass_(sys.stdin.read())
${ops
  .split('\n')
  .map((l) => '    ' + l)
  .join('\n')}
except poplib.error_proto as e:
    out.append('error: ' + s(e.args[0]))
print(json.dumps(s(out)))
`;
  const r = await execa('python3', ['-c', code, user], { input: pass });
  return JSON.parse(r.stdout) as unknown[];
}

/** What a POP3 client stores for a delivered message: its bytes plus qmail-pop3d's extra blank line. */
export function asFetched(m: Buffer): Buffer {
  return Buffer.concat([m, Buffer.from('\n')]);
}

/**
 * Run a shadow-suite command (useradd, chpasswd, usermod, userdel), retrying
 * while another process holds /etc/passwd's or /etc/shadow's lock (tests in
 * other files, or other programs, change accounts at the same time).
 */
export async function accountCmd(cmd: string, args: string[], input?: string): Promise<void> {
  for (let i = 0; ; i++) {
    const r = await execa(cmd, args, { input, reject: false });
    if (r.exitCode === 0) return;
    if (i >= 20 || !/lock|try again/i.test(r.stderr)) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}
