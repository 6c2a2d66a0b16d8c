/**
 * passwd: account lookup as getpwnam(3) answers it, for setuidgid, envuidgid
 * and qmail's qmail-getpw-style lookups (passwd(5)).
 *
 * Public functions:
 *   getpwnam(name) -> Passwd | undefined
 *   parsePasswd(line) -> Passwd | undefined   one passwd(5) line
 *
 * Lookup order: /etc/passwd (first line whose name matches, as NSS `files`
 * does), then `getent passwd NAME` for accounts from other NSS sources
 * (LDAP, systemd-homed...). Names that getent would read as a number or an
 * option (all digits, leading `-`) or that cannot occur in passwd(5) (empty,
 * `:` or newline inside) are never passed to getent. Never throws: an
 * unreadable /etc/passwd or a missing getent count as "no such account".
 */
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/** One passwd(5) entry. uid/gid are numbers (0 .. 2^32-1). */
export interface Passwd {
  name: string;
  passwd: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
}

/** Parse `name:passwd:uid:gid:gecos:home:shell`; undefined if malformed. */
export function parsePasswd(line: string): Passwd | undefined {
  const f = line.split(':');
  if (f.length !== 7 || f[0] === '' || !/^\d+$/.test(f[2]) || !/^\d+$/.test(f[3])) return undefined;
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  if (uid > 0xffffffff || gid > 0xffffffff) return undefined;
  return { name: f[0], passwd: f[1], uid, gid, gecos: f[4], home: f[5], shell: f[6] };
}

/** The first entry named `name` in passwd(5)-format text. */
function find(text: string, name: string): Passwd | undefined {
  const pre = name + ':';
  for (const line of text.split('\n')) {
    if (line.startsWith(pre)) {
      const p = parsePasswd(line);
      if (p) return p;
    }
  }
  return undefined;
}

/**
 * getpwnam(3): the account named `name`, or undefined if there is none.
 * `file` (default /etc/passwd) lets tests use their own passwd file; the
 * getent fallback is used only with the default file.
 */
export function getpwnam(name: string, file = '/etc/passwd'): Passwd | undefined {
  if (name === '' || /[:\n]/.test(name)) return undefined;
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    /* fall through to getent */
  }
  const p = find(text, name);
  if (p || file !== '/etc/passwd' || /^\d+$/.test(name) || name.startsWith('-')) return p;
  const r = spawnSync('getent', ['passwd', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return r.status === 0 ? find(r.stdout, name) : undefined;
}
