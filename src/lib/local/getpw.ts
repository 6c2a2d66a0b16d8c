/**
 * local/getpw: qmail-getpw(8)'s rules (qmail-getpw.9): which account is in
 * charge of a local address when users/cdb has no assignment.
 *
 * For `local`, try the longest prefix ending before a `-` (conf-break) or
 * at the end, down to the shortest: the prefix, lower-cased and shorter than
 * 32 bytes, names the account when getpwnam finds it, its uid is not 0, and
 * its home directory exists and is owned by that uid. Then dash is `-` and
 * ext the rest after the `-` (or both empty for the whole name). No account:
 * the `alias` user, with dash `-` and ext the whole local part. No alias
 * user either: QLX_NOALIAS (116). A temporary error from stat of the home
 * directory: QLX_NFS (115).
 *
 * Account lookups go through a PasswdCache: /etc/passwd parsed once and
 * re-read when its mtime or size changes, other NSS sources asked through
 * passwd.getpwnam() (getent) with a 60 s negative cache, so a long-lived
 * qmail-lspawn does not fork per lookup.
 */
import { statSync } from 'node:fs';
import { getpwnam, parsePasswd, type Passwd } from '../passwd.ts';
import { readFileSync } from 'node:fs';
import { errCode } from '../errstr.ts';
import { isTempErrno } from '../deliver/errtemp.ts';
import { QLX } from '../spawn/protocol.ts';
import { lowerAscii } from './lower.ts';

/** What qmail-getpw prints: six fields, NUL-terminated each. */
export interface Nughde {
  user: string;
  uid: number;
  gid: number;
  home: string;
  dash: string;
  ext: string;
}

/** A qmail-getpw / lspawn failure carrying its QLX exit code. */
export class QlxError extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`qlx ${code}`);
    this.code = code;
  }
}

/** getpwnam with a cache (see module comment). */
export class PasswdCache {
  private readonly file: string;
  private stamp = '';
  private byName = new Map<string, Passwd>();
  private misses = new Map<string, number>();
  private readonly others: boolean;

  /** `file` defaults to /etc/passwd; NSS (getent) is asked only with the default file. */
  constructor(file = '/etc/passwd') {
    this.file = file;
    this.others = file === '/etc/passwd';
  }

  private refresh(): void {
    let st = '';
    try {
      const s = statSync(this.file);
      st = `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      st = 'none';
    }
    if (st === this.stamp) return;
    this.stamp = st;
    this.byName = new Map();
    this.misses = new Map();
    let text = '';
    try {
      text = readFileSync(this.file, 'latin1');
    } catch {
      /* no passwd file: everything via NSS */
    }
    for (const line of text.split('\n')) {
      const p = parsePasswd(line);
      if (p && !this.byName.has(p.name)) this.byName.set(p.name, p);
    }
  }

  /** The account named `name`, or undefined. */
  get(name: string): Passwd | undefined {
    this.refresh();
    const p = this.byName.get(name);
    if (p || !this.others) return p;
    const miss = this.misses.get(name);
    if (miss !== undefined && Date.now() - miss < 60000) return undefined;
    const q = getpwnam(name);
    if (q) return q;
    this.misses.set(name, Date.now());
    return undefined;
  }
}

/** conf-break: the extension separator. */
export const BREAK = '-';
/** conf-users: the alias user. */
export const ALIAS_USER = 'alias';

/**
 * qmail-getpw's answer for `local` (latin1). Throws QlxError(NOALIAS) when
 * neither a matching account nor the alias user exists, QlxError(NFS) on a
 * temporary stat error.
 */
export function getpw(local: string, pw: PasswdCache): Nughde {
  for (let e = local.length; ; e--) {
    if (e < 32 && (e === local.length || local[e] === BREAK)) {
      const p = pw.get(lowerAscii(local.slice(0, e)));
      if (p && p.uid !== 0) {
        let owned = false;
        try {
          owned = statSync(Buffer.from(p.home, 'latin1')).uid === p.uid;
        } catch (err) {
          if (isTempErrno(errCode(err))) throw new QlxError(QLX.NFS);
        }
        if (owned) {
          const more = e < local.length;
          return { user: p.name, uid: p.uid, gid: p.gid, home: p.home, dash: more ? '-' : '', ext: more ? local.slice(e + 1) : '' };
        }
      }
    }
    if (e === 0) break;
  }
  const a = pw.get(ALIAS_USER);
  if (!a) throw new QlxError(QLX.NOALIAS);
  return { user: a.name, uid: a.uid, gid: a.gid, home: a.home, dash: '-', ext: local };
}

/** qmail-getpw's output bytes: the six fields each followed by NUL. */
export function formatNughde(n: Nughde): Buffer {
  return Buffer.from(`${n.user}\0${n.uid}\0${n.gid}\0${n.home}\0${n.dash}\0${n.ext}\0`, 'latin1');
}
