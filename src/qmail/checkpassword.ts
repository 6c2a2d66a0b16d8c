/**
 * checkpassword prog [arg...]
 *
 * The checkpassword interface (cr.yp.to/checkpwd/interface.html), as
 * qmail-popup and *Life with qmail* 5.2.1 use it (`qmail-popup FQDN
 * /bin/checkpassword qmail-pop3d Maildir`): reads `user\0password\0
 * timestamp\0` (at most 512 bytes) from descriptor 3, checks the password,
 * and on success runs prog as the user: USER, HOME and SHELL set, working
 * directory HOME, the caller's other environment and descriptors 0-2 kept.
 *
 * Where passwords come from, in order:
 *  1. this product's password file (src/lib/checkpw/passfile.ts: $POPPASSWD
 *     or $QMAILHOME/users/poppasswd, scrypt hashes, managed with
 *     qmail-poppass), if it exists and has the user;
 *  2. when running as root: the system account (passwd + /etc/shadow,
 *     verified with the system's crypt(3): yescrypt, SHA-512/256, MD5...;
 *     src/lib/checkpw/system.ts).
 * The timestamp (APOP) is ignored, as in DJB's checkpassword: APOP digests
 * cannot be checked against one-way hashes, so APOP logins fail.
 *
 * Security: the password is only read from fd 3, never put in argv, the
 * environment or a log, compared in constant time, and its bytes are zeroed
 * after use; an unknown user costs the same scrypt work as a known one; a
 * failed check waits 1 second before exiting. As root the program becomes
 * the account (setgroups to its gid only, setgid, setuid) before anything
 * runs; an account of uid 0 from the password file is refused.
 *
 * Running prog: searched on $PATH and exec'd (same pid). When prog is one
 * of this checkout's programs that opted in to in-process runs
 * (qmail-pop3d), its main is called in this process instead, after the
 * switch to the user, which saves a second Node start per POP3 session; the
 * effect for the client and the mailbox is that of the exec.
 *
 * Exit codes: 1 bad user or password; 2 misuse (no prog, descriptor 3 data
 * malformed); 111 temporary trouble (fd 3 unreadable, a password file
 * unreadable, cannot switch user or chdir to HOME, cannot run prog:
 * `checkpassword: fatal: ...` on descriptor 2).
 */
import { closeSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Ctx } from '../lib/program.ts';
import { die } from '../lib/strerr.ts';
import { readFd } from '../lib/fdio.ts';
import { getpwnam } from '../lib/passwd.ts';
import { switchOrDie } from '../lib/prot.ts';
import { applyEnv, execOrDie, type EnvEdit } from '../lib/pathexec.ts';
import { envObject, findProgram } from '../lib/chain.ts';
import { inProcessMain } from '../lib/inprocess.ts';
import { DUMMY_HASH, findEntry, passfilePath, verifyHash } from '../lib/checkpw/passfile.ts';
import { shadowHash, verifyCrypt } from '../lib/checkpw/system.ts';

const PROG = 'checkpassword';
/** Wait after a failed check, milliseconds. */
const FAIL_DELAY = 1000;

/** Descriptor 3, at most 512 bytes (the interface's limit), closed afterwards. */
function readCredentials(): Buffer {
  const parts: Buffer[] = [];
  let len = 0;
  try {
    for (;;) {
      const b = readFd(3, 512 - len);
      if (b.length === 0) break;
      parts.push(b);
      len += b.length;
      if (len >= 512) break;
    }
  } catch (e) {
    die(PROG, 111, 'unable to read descriptor 3', e);
  }
  try {
    closeSync(3);
  } catch {
    /* already closed */
  }
  return Buffer.concat(parts);
}

/** Who to become once the password matched. */
interface Account {
  /** where the password came from */
  source: 'file' | 'system';
  name: string;
  uid?: number;
  gid?: number;
  home: string;
  shell: string;
}

/** Check the password (see the module comment); the account, or undefined. */
async function check(ctx: Ctx, user: string, pass: Buffer): Promise<Account | undefined> {
  const file = passfilePath(ctx.env);
  let text: string | undefined;
  try {
    text = readFileSync(file, 'latin1');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') die(PROG, 111, `unable to read ${file}`, e);
  }
  const entry = text === undefined ? undefined : findEntry(text, user);
  if (entry) {
    const ok = await verifyHash(entry.hash, pass);
    return ok ? { source: 'file', name: user, uid: entry.uid, gid: entry.gid, home: entry.home, shell: entry.shell || '/bin/sh' } : undefined;
  }
  if (process.getuid?.() === 0) {
    const pw = getpwnam(user);
    let stored: string | undefined;
    try {
      stored = shadowHash(user);
    } catch (e) {
      die(PROG, 111, 'unable to read /etc/shadow', e);
    }
    if (pw && stored !== undefined) return verifyCrypt(stored, pass) ? { source: 'system', name: pw.name, uid: pw.uid, gid: pw.gid, home: pw.home, shell: pw.shell } : undefined;
  }
  await verifyHash(DUMMY_HASH, pass);
  return undefined;
}

export async function main(ctx: Ctx): Promise<number> {
  const argv = ctx.argv.slice(1);
  if (argv.length === 0) return 2;
  const up = readCredentials();
  const z1 = up.indexOf(0);
  const z2 = z1 < 0 ? -1 : up.indexOf(0, z1 + 1);
  const z3 = z2 < 0 ? -1 : up.indexOf(0, z2 + 1);
  if (z3 < 0) {
    up.fill(0);
    return 2;
  }
  const user = up.subarray(0, z1).toString('latin1');
  const pass = up.subarray(z1 + 1, z2);
  let acct: Account | undefined;
  try {
    acct = await check(ctx, user, pass);
  } finally {
    up.fill(0);
  }
  if (!acct) {
    await sleep(FAIL_DELAY);
    return 1;
  }
  const root = process.getuid?.() === 0;
  if (root) {
    if (acct.uid === undefined || acct.gid === undefined) die(PROG, 111, `no uid/gid for ${acct.name} in ${passfilePath(ctx.env)}`);
    if (acct.source === 'file' && acct.uid === 0) die(PROG, 111, `refusing uid 0 for ${acct.name} in ${passfilePath(ctx.env)}`);
    switchOrDie(PROG, acct.uid, acct.gid);
  } else if (acct.uid !== undefined && acct.uid !== process.getuid?.()) {
    die(PROG, 111, `unable to switch to uid ${acct.uid}: not running as root`);
  }
  try {
    process.chdir(acct.home);
  } catch (e) {
    die(PROG, 111, `unable to chdir to ${acct.home}`, e);
  }
  const edits: EnvEdit[] = [
    { name: 'USER', value: acct.name },
    { name: 'HOME', value: acct.home },
    { name: 'SHELL', value: acct.shell },
  ];
  let path: string | undefined;
  try {
    path = findProgram(argv[0], ctx.env.PATH);
  } catch {
    path = undefined;
  }
  const inner = path === undefined ? undefined : await inProcessMain(path);
  if (inner) {
    return inner({ argv, env: envObject(applyEnv(ctx.env, edits)), cwd: acct.home, stdin: ctx.stdin, stdout: ctx.stdout, stderr: ctx.stderr });
  }
  execOrDie(PROG, argv, ctx.env, edits);
}
