/**
 * local/pw2u: qmail-pw2u(8)'s translation of a V7 passwd file into
 * qmail-users(5) assignments (text in, text out; the program does the I/O).
 *
 * For each `user:password:uid:gid:gecos:home:shell` line (lines with a NUL
 * or fewer fields are skipped): skip uid 0; skip names with A-Z unless
 * upper case is allowed (-u); skip names not in users/include (when it
 * exists) or in users/exclude; home check by strategy (2 = -o: skip when
 * missing or not owned by uid; 1 = -h: missing home is fatal; 0 = -H: no
 * check). Then, for the alias user, `+:alias:uid:gid:home:-::` (the
 * catch-all); for each of the user's mail names (users/mailnames
 * `user:name1:name2:...`, else the user name) `=name:user:uid:gid:home:::`
 * and, when there is an extension character, `+nameBREAK:user:uid:gid:home:-::`.
 * Then users/subusers lines `sub:user:pre:` become `=sub:...:-:pre:` and
 * `+subBREAK:...:-:pre-:`, then users/append verbatim, then `.`.
 * `-/` makes the dash `-/` (home/.qmail-/...). Strings are latin1.
 */

/** qmail-pw2u's options. */
export interface Pw2uOptions {
  /** 2 = -o (default), 1 = -h, 0 = -H */
  homeStrategy: 0 | 1 | 2;
  /** -U (default true) / -u */
  noUpper: boolean;
  /** conf-break or -c's character; '' for -C */
  brk: string;
  /** '-:' (default) or '-/:' for -/ */
  dashcolon: string;
}

/** The users/ files qmail-pw2u reads (undefined when missing); list files as control_readfile lines. */
export interface Pw2uFiles {
  include?: string[];
  exclude?: string[];
  mailnames?: string[];
  subusers?: string;
  append?: string;
}

/** A fatal condition: the text after `qmail-pw2u: fatal: `. */
export class Pw2uError extends Error {}

/** What stat of a home answers: its owner uid, 'ENOENT', or another failure. */
export type HomeStat = (home: string) => number | 'ENOENT' | 'ERROR';

/** Translate (see module comment). Throws Pw2uError. */
export function pw2u(passwd: string, o: Pw2uOptions, f: Pw2uFiles, statHome: HomeStat): string {
  const out: string[] = [];
  const incl = f.include ? new Set(f.include) : undefined;
  const excl = f.exclude ? new Set(f.exclude) : undefined;
  const mana = new Map<string, string>();
  for (const l of f.mailnames ?? []) {
    const k = l.indexOf(':');
    mana.set(k < 0 ? l : l.slice(0, k), k < 0 ? '' : l.slice(k + 1));
  }
  const users = new Map<string, string>();
  let flagalias = false;
  const lines = passwd.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    if (line.includes('\0')) continue;
    const fl = line.split(':');
    if (fl.length < 7) continue;
    const [user, , uidstr, gidstr, , home] = fl;
    const uid = Number(/^[0-9]*/.exec(uidstr)![0] || '0');
    if (uid === 0) continue;
    if (o.noUpper && /[A-Z]/.test(user)) continue;
    if (incl && !incl.has(user)) continue;
    if (excl && excl.has(user)) continue;
    if (o.homeStrategy) {
      const s = statHome(home);
      if (s === 'ERROR' || (s === 'ENOENT' && o.homeStrategy === 1)) throw new Pw2uError(`unable to stat ${home}`);
      if (s === 'ENOENT') continue;
      if (s !== uid) continue;
    }
    const uugh = `:${user}:${uidstr}:${gidstr}:${home}:`;
    if (!users.has(user)) users.set(user, uugh);
    if (user === 'alias') {
      out.push(`+${uugh}${o.dashcolon}:\n`);
      flagalias = true;
    }
    const names = mana.get(user) ?? user;
    for (const n of names.split(':')) {
      if (n === '') continue;
      out.push(`=${n}${uugh}::\n`);
      if (o.brk) out.push(`+${n}${o.brk}${uugh}${o.dashcolon}:\n`);
    }
  }
  if (!flagalias) throw new Pw2uError('unable to find alias user');
  if (f.subusers !== undefined) {
    const sl = f.subusers.split('\n');
    if (sl[sl.length - 1] === '') sl.pop();
    for (const line of sl) {
      const a = line.split(':');
      if (a.length < 2) continue;
      const u = users.get(a[1]);
      if (u === undefined) throw new Pw2uError(`unable to find ${a[1]} user for subuser`);
      if (a.length < 4) continue;
      out.push(`=${a[0]}${u}${o.dashcolon}${a[2]}:\n`);
      if (o.brk) out.push(`+${a[0]}${o.brk}${u}${o.dashcolon}${a[2]}-:\n`);
    }
  }
  if (f.append !== undefined) out.push(f.append);
  out.push('.\n');
  return out.join('');
}
