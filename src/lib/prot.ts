/**
 * prot: giving up privileges as daemontools' prot.c does, shared by setuidgid
 * (and anything else that switches to an account before exec'ing).
 *
 * Public functions:
 *   protGid(gid)   setgroups([gid]) then setgid(gid): supplementary groups
 *                  become exactly the primary gid (FORMATS.md section 0)
 *   protUid(uid)   setuid(uid)
 *   lookupOrDie(prog, account)      getpwnam or `prog: fatal: unknown
 *                                   account X`, exit 111
 *   switchOrDie(prog, uid, gid)     protGid + protUid or `prog: fatal:
 *                                   unable to setgid|setuid: <errstr>`, 111
 * Errors thrown by protGid/protUid carry the errno name in `.code`.
 * Process-global: only for programs that run as their own process.
 */
import { die } from './strerr.ts';
import { getpwnam, type Passwd } from './passwd.ts';

/** setgroups(1, {gid}) then setgid(gid). */
export function protGid(gid: number): void {
  process.setgroups!([gid]);
  process.setgid!(gid);
}

/** setuid(uid). */
export function protUid(uid: number): void {
  process.setuid!(uid);
}

/** The passwd entry of account, or `prog: fatal: unknown account X` (111). */
export function lookupOrDie(prog: string, account: string): Passwd {
  const pw = getpwnam(account);
  if (!pw) die(prog, 111, `unknown account ${account}`);
  return pw;
}

/** Switch to gid then uid, dying with DJB's messages (111) on failure. */
export function switchOrDie(prog: string, uid: number, gid: number): void {
  try {
    protGid(gid);
  } catch (e) {
    die(prog, 111, 'unable to setgid', e);
  }
  try {
    protUid(uid);
  } catch (e) {
    die(prog, 111, 'unable to setuid', e);
  }
}
