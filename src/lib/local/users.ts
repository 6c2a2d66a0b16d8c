/**
 * local/users: qmail-lspawn's address -> account lookup (qmail-users(5),
 * qmail-lspawn(8)): QMAILHOME/users/cdb first, then qmail-getpw's rules.
 *
 * users/cdb (built by qmail-newu from users/assign, see assign.ts) holds
 *   `!LOCAL\0`  -> `user\0uid\0gid\0home\0dash\0ext` for `=local:...` lines,
 *   `!LOC`      -> `user\0uid\0gid\0home\0dash\0pre` for `+loc:...` lines,
 *   ``          -> the set of last characters of the wildcard keys,
 * keys lower-cased (ASCII). For `local`: the simple key `!local\0` first;
 * then, from the longest prefix to the empty one, `!prefix` when the
 * prefix's last character is one of the wildcard characters (the empty
 * prefix always), its ext then being pre + the rest of local (original
 * case). No users/cdb (ENOENT) -> qmail-getpw. Any other open or read
 * problem, or a cdb without the `` key -> QLX_CDB (117, "Trouble reading
 * users/cdb"). The file is re-opened when it changes (inode, size, mtime),
 * as each C qmail-lspawn child opens it afresh.
 */
import { statSync } from 'node:fs';
import { Cdb } from '../cdb.ts';
import { errCode } from '../errstr.ts';
import { QLX } from '../spawn/protocol.ts';
import { getpw, PasswdCache, QlxError, type Nughde } from './getpw.ts';
import { lowerAscii } from './lower.ts';

/** Parse a cdb value `user\0uid\0gid\0home\0dash\0ext...` (ext may be extended). */
export function parseAssignment(data: string): Nughde | undefined {
  const f = data.split('\0');
  if (f.length < 6) return undefined;
  const num = (s: string): number => {
    const m = /^[0-9]*/.exec(s)![0];
    return m === '' ? 0 : Number(m) >>> 0;
  };
  return { user: f[0], uid: num(f[1]), gid: num(f[2]), home: f[3], dash: f[4], ext: f.slice(5).join('\0') };
}

/** Looks addresses up for one qmail home (see module comment). */
export class UserDb {
  private readonly path: string;
  private cdb: Cdb | undefined;
  private stamp = '';
  readonly passwd: PasswdCache;

  /** @param home the qmail home; @param passwd the account cache for the getpw fallback */
  constructor(home: string, passwd = new PasswdCache()) {
    this.path = `${home}/users/cdb`;
    this.passwd = passwd;
  }

  private open(): Cdb | undefined {
    let st;
    try {
      st = statSync(this.path);
    } catch (e) {
      if (errCode(e) === 'ENOENT') {
        this.cdb = undefined;
        this.stamp = '';
        return undefined;
      }
      throw new QlxError(QLX.CDB);
    }
    const stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    if (stamp !== this.stamp || !this.cdb) {
      try {
        this.cdb = Cdb.load(this.path);
      } catch (e) {
        if (errCode(e) === 'ENOENT') return undefined;
        throw new QlxError(QLX.CDB);
      }
      this.stamp = stamp;
    }
    return this.cdb;
  }

  /** The users/cdb assignment for `local`, undefined when none (or no cdb). Throws QlxError(CDB). */
  assigned(local: string): Nughde | undefined {
    const cdb = this.open();
    if (!cdb) return undefined;
    const lower = Buffer.from('!' + lowerAscii(local) + '\0', 'latin1');
    try {
      const wild = cdb.get(Buffer.alloc(0));
      if (wild === undefined) throw new QlxError(QLX.CDB);
      let flagwild = false;
      for (let i = lower.length; i > 0; i--) {
        if (!flagwild || i === 1 || wild.includes(lower[i - 1])) {
          const d = cdb.get(lower.subarray(0, i));
          if (d !== undefined) {
            let v = d.toString('latin1');
            if (flagwild) v += local.slice(i - 1);
            const n = parseAssignment(v);
            if (!n) throw new QlxError(QLX.USAGE);
            return n;
          }
        }
        flagwild = true;
      }
    } catch (e) {
      if (e instanceof QlxError) throw e;
      throw new QlxError(QLX.CDB);
    }
    return undefined;
  }

  /** users/cdb, else qmail-getpw's rules. Throws QlxError. */
  lookup(local: string): Nughde {
    return this.assigned(local) ?? getpw(local, this.passwd);
  }
}
