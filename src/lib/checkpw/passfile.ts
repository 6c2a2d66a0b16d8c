/**
 * checkpw/passfile: this product's POP password file, for mailboxes that are
 * not system accounts (the embedded, non-root setup) and for virtual users
 * under a system install. Read by checkpassword, written by qmail-poppass.
 *
 * Location: $POPPASSWD when set and non-empty, else $QMAILHOME/users/poppasswd
 * (QMAILHOME defaulting to /var/qmail). Mode 0600, owned by whoever runs
 * checkpassword (root for a system install, the embedded user otherwise).
 *
 * Format (stable; one entry per line, `#` lines and empty lines ignored):
 *
 *     user:scrypt$N$r$p$SALT$HASH:uid:gid:home:shell
 *
 *  - user: any bytes but `:`, LF and NUL;
 *  - the hash: scrypt (RFC 7914, node:crypto) of the password bytes with
 *    cost N (a power of 2), block size r, parallelism p; SALT (16 random
 *    bytes) and HASH (32 bytes) in base64 without padding. Written with
 *    N=16384 r=8 p=1; any N/r/p found in the file is honoured (so costs can
 *    be raised without invalidating old entries). A hash field that does
 *    not start with `scrypt$` (e.g. `!` or `*`) never matches: a disabled
 *    entry;
 *  - uid, gid: decimal; both empty = "the account checkpassword runs as"
 *    (the embedded setup); when checkpassword runs as root they are
 *    required and must not be 0;
 *  - home: absolute directory, the session's working directory and $HOME;
 *  - shell: $SHELL for the session (default /bin/sh when empty).
 *
 * Public:
 *   passfilePath(env)                    where the file is
 *   parseEntry(line) / formatEntry(e)    one line <-> PassEntry
 *   findEntry(text, user)                the entry of user in file text
 *   hashPassword(pass) -> Promise<string>  a new `scrypt$...` field
 *   verifyHash(field, pass) -> Promise<boolean>  constant-time comparison;
 *                                        false for malformed/disabled fields
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { qmailHome } from '../qmailhome.ts';

/** One line of the password file. */
export interface PassEntry {
  user: string;
  hash: string;
  /** undefined: the account checkpassword runs as */
  uid?: number;
  gid?: number;
  home: string;
  shell: string;
}

/** The password file for a program's environment. */
export function passfilePath(env: Record<string, string | undefined>): string {
  const p = env.POPPASSWD;
  return p !== undefined && p !== '' ? p : `${qmailHome(env)}/users/poppasswd`;
}

/** Parse one line; undefined when it is a comment, empty or malformed. */
export function parseEntry(line: string): PassEntry | undefined {
  if (line === '' || line.startsWith('#')) return undefined;
  const f = line.split(':');
  if (f.length !== 6 || f[0] === '' || !f[4].startsWith('/')) return undefined;
  const num = (s: string): number | undefined | null => (s === '' ? undefined : /^\d{1,10}$/.test(s) && Number(s) <= 0xffffffff ? Number(s) : null);
  const uid = num(f[2]);
  const gid = num(f[3]);
  if (uid === null || gid === null || (uid === undefined) !== (gid === undefined)) return undefined;
  return { user: f[0], hash: f[1], uid, gid, home: f[4], shell: f[5] };
}

/** The line for an entry (no newline). */
export function formatEntry(e: PassEntry): string {
  return [e.user, e.hash, e.uid ?? '', e.gid ?? '', e.home, e.shell].join(':');
}

/** The first valid entry for user in the file's text. */
export function findEntry(text: string, user: string): PassEntry | undefined {
  if (user === '' || /[:\n\0]/.test(user)) return undefined;
  const pre = user + ':';
  for (const line of text.split('\n')) {
    if (!line.startsWith(pre)) continue;
    const e = parseEntry(line);
    if (e) return e;
  }
  return undefined;
}

const N = 16384;
const R = 8;
const P = 1;
const KEYLEN = 32;

function derive(pass: Buffer, salt: Buffer, n: number, r: number, p: number, keylen: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(pass, salt, keylen, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 }, (e, k) => (e ? reject(e) : resolve(k))),
  );
}

const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');

/** A new hash field for pass (bytes or latin1 string): `scrypt$16384$8$1$SALT$HASH`. */
export async function hashPassword(pass: Buffer): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(pass, salt, N, R, P, KEYLEN);
  return `scrypt$${N}$${R}$${P}$${b64(salt)}$${b64(key)}`;
}

/** A well-formed field that matches no password (for unknown users: same work, same time). */
export const DUMMY_HASH = `scrypt$${N}$${R}$${P}$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;

/** Does pass match the hash field? Constant-time on the derived key; false for malformed fields. */
export async function verifyHash(field: string, pass: Buffer): Promise<boolean> {
  const m = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9+/]{16,})\$([A-Za-z0-9+/]{16,})$/.exec(field);
  if (!m) return false;
  const [n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (n < 2 || (n & (n - 1)) !== 0 || n > 1 << 22 || r < 1 || p < 1 || p > 16) return false;
  const want = Buffer.from(m[5], 'base64');
  let got: Buffer;
  try {
    got = await derive(pass, Buffer.from(m[4], 'base64'), n, r, p, want.length);
  } catch {
    return false;
  }
  return got.length === want.length && timingSafeEqual(got, want);
}
