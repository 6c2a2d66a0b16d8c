/**
 * qmail-poppass [ -u uid -g gid ] [ -s shell ] user home
 * qmail-poppass -d user
 *
 * Manages this product's POP password file (format and location in
 * src/lib/checkpw/passfile.ts: $POPPASSWD, else $QMAILHOME/users/poppasswd),
 * which checkpassword reads. The first form adds user or replaces its entry:
 * the new password is the first line of standard input (without its LF and
 * a CR before it; never an argument, so it stays out of ps and shell
 * history), hashed with scrypt; home is the mailbox owner's home directory
 * (the session's cwd, e.g. the directory holding Maildir/); -u/-g give the
 * uid and gid checkpassword becomes when it runs as root (leave them out for
 * the embedded setup, where checkpassword runs as the owner already); -s the
 * session's $SHELL. The second form removes user's entry.
 *
 * The file is rewritten atomically (a temporary file in the same directory,
 * mode 0600, fsynced, renamed over the old one); other entries and comment
 * lines are kept in order.
 *
 * Exit codes: 0 done; 100 usage (`qmail-poppass: usage: ...`), an empty
 * password, a bad user name or home (`qmail-poppass: fatal: ...`), or -d of
 * an unknown user; 111 the file cannot be read or written.
 */
import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import type { Ctx } from '../lib/program.ts';
import { sgetopt } from '../lib/sgetopt.ts';
import { die, usage } from '../lib/strerr.ts';
import { fdChunks } from '../lib/fdio.ts';
import { fsyncFd } from '../lib/fsyncfd.ts';
import { findEntry, formatEntry, hashPassword, parseEntry, passfilePath, type PassEntry } from '../lib/checkpw/passfile.ts';

const PROG = 'qmail-poppass';
const USAGE = '[ -u uid -g gid ] [ -s shell ] user home | -d user';

/** The first line of standard input, as bytes, without LF (and a CR before it). */
function readPassword(): Buffer {
  const parts: Buffer[] = [];
  for (const b of fdChunks(0)) {
    parts.push(b);
    if (b.includes(10)) break;
  }
  const all = Buffer.concat(parts);
  let end = all.indexOf(10);
  if (end < 0) end = all.length;
  if (end > 0 && all[end - 1] === 13) end--;
  const pass = Buffer.from(all.subarray(0, end));
  all.fill(0);
  return pass;
}

export async function main(ctx: Ctx): Promise<number> {
  const p = sgetopt(ctx.argv[0] ?? PROG, ctx.argv.slice(1), 'du:g:s:');
  let del = false;
  let uid: string | undefined;
  let gid: string | undefined;
  let shell = '/bin/sh';
  for (const o of p.opts) {
    if (o.opt === 'd') del = true;
    else if (o.opt === 'u') uid = o.arg;
    else if (o.opt === 'g') gid = o.arg;
    else if (o.opt === 's') shell = o.arg ?? '';
    else usage(PROG, USAGE);
  }
  if (p.rest.length !== (del ? 1 : 2) || (uid === undefined) !== (gid === undefined)) usage(PROG, USAGE);
  const user = p.rest[0];
  if (user === '' || /[:\n\0]/.test(user)) die(PROG, 100, `bad user name: ${JSON.stringify(user)}`);
  const file = passfilePath(ctx.env);
  let lines: string[] = [];
  try {
    lines = readFileSync(file, 'latin1').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') die(PROG, 111, `unable to read ${file}`, e);
  }
  const mine = (l: string): boolean => parseEntry(l)?.user === user;
  if (del) {
    if (!findEntry(lines.join('\n'), user)) die(PROG, 100, `no entry for ${user} in ${file}`);
    lines = lines.filter((l) => !mine(l));
  } else {
    const home = p.rest[1];
    if (!home.startsWith('/') || /[:\n]/.test(home)) die(PROG, 100, `home must be an absolute path without ':': ${home}`);
    if (/[:\n]/.test(shell)) die(PROG, 100, `bad shell: ${shell}`);
    if (uid !== undefined && (!/^\d{1,10}$/.test(uid) || !/^\d{1,10}$/.test(gid!))) die(PROG, 100, 'uid and gid must be numbers');
    const pass = readPassword();
    if (pass.length === 0) die(PROG, 100, 'empty password on standard input');
    const entry: PassEntry = { user, hash: await hashPassword(pass), uid: uid === undefined ? undefined : Number(uid), gid: gid === undefined ? undefined : Number(gid), home, shell };
    pass.fill(0);
    const line = formatEntry(entry);
    const at = lines.findIndex(mine);
    if (at >= 0) lines = [...lines.slice(0, at), line, ...lines.slice(at + 1).filter((l) => !mine(l))];
    else lines.push(line);
  }
  const tmp = `${file}.tmp${process.pid}`;
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      const data = Buffer.from(lines.map((l) => l + '\n').join(''), 'latin1');
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off);
      await fsyncFd(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* never created */
    }
    die(PROG, 111, `unable to write ${file}`, e);
  }
  return 0;
}
