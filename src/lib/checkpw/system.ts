/**
 * checkpw/system: checking a system account's password as checkpassword
 * does when it runs as root: the passwd(5) entry (passwd.ts getpwnam) and
 * the shadow(5) hash, verified with the system's own crypt(3) (libxcrypt via
 * the native addon: yescrypt `$y$`, SHA-512 `$6$`, SHA-256 `$5$`, MD5 `$1$`
 * and whatever else the system library supports).
 *
 * No npm package verifies yescrypt (the scheme Debian 12 writes by default),
 * so the hashing is the C library's, called in-process: the password never
 * leaves the process (no helper program, no argv, no environment).
 *
 *   shadowHash(user, file?) -> string | undefined
 *        the encrypted password of user in /etc/shadow (first matching
 *        line), undefined when the user has none there. Throws when the
 *        file cannot be read (the caller's temporary failure).
 *   verifyCrypt(stored, pass) -> boolean
 *        false for locked or empty entries (`!...`, `*...`, ''), else
 *        crypt(pass, stored) compared with stored in constant time.
 */
import { readFileSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import { sys } from '../native.ts';

/** The shadow(5) password field of user (see the module comment). */
export function shadowHash(user: string, file = '/etc/shadow'): string | undefined {
  if (user === '' || /[:\n\0]/.test(user)) return undefined;
  const text = readFileSync(file, 'latin1');
  const pre = user + ':';
  for (const line of text.split('\n')) {
    if (line.startsWith(pre)) return line.split(':')[1] ?? '';
  }
  return undefined;
}

/** Does pass match the stored crypt(3) hash? (see the module comment) */
export function verifyCrypt(stored: string, pass: Buffer): boolean {
  if (stored === '' || stored.startsWith('!') || stored.startsWith('*')) return false;
  const got = sys.crypt(pass, stored);
  if (got === null) return false;
  const a = Buffer.from(got, 'latin1');
  const b = Buffer.from(stored, 'latin1');
  return a.length === b.length && timingSafeEqual(a, b);
}
