/**
 * qmailids: qmail's trust partition (conf-users, conf-groups; INSTALL.ids):
 * the users alias, qmaild, qmaill, root, qmailp, qmailq, qmailr, qmails and
 * the groups qmail, nofiles, looked up by name in /etc/passwd and /etc/group
 * (the C programs resolve them with getpwnam/getgrnam at start, inituid()).
 *
 * A name that does not exist on this machine resolves to undefined here, NOT
 * to some fallback id: qmail-queue's `invoked by alias` must only ever mean
 * the real alias user. Callers that need an owner anyway (queueCreate on a
 * machine without the qmail users) choose their own fallback and say so.
 */
import { readFileSync } from 'node:fs';
import { parsePasswd } from './passwd.ts';

/** conf-users, in qmail's order: alias, daemon, log, owner, passwd, queue, remote, send. */
export const QMAIL_USERS = ['alias', 'qmaild', 'qmaill', 'root', 'qmailp', 'qmailq', 'qmailr', 'qmails'] as const;
/** conf-groups: the qmail group and the group owning no files. */
export const QMAIL_GROUPS = ['qmail', 'nofiles'] as const;

export type QmailUser = (typeof QMAIL_USERS)[number];
export type QmailGroup = (typeof QMAIL_GROUPS)[number];

/** uids/gids of qmail's users and groups; undefined for names this machine lacks. */
export interface QmailIds {
  users: Record<QmailUser, number | undefined>;
  groups: Record<QmailGroup, number | undefined>;
}

/** name -> uid from passwd(5) text (first entry wins, as NSS `files`). */
function users(path: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of slurp(path)) {
    const p = parsePasswd(line);
    if (p && !m.has(p.name)) m.set(p.name, p.uid);
  }
  return m;
}

/** name -> gid from group(5) text (`name:passwd:gid:members`). */
function groups(path: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of slurp(path)) {
    const f = line.split(':');
    if (f.length === 4 && f[0] !== '' && /^[0-9]+$/.test(f[2]) && !m.has(f[0])) m.set(f[0], Number(f[2]));
  }
  return m;
}

function slurp(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n');
  } catch {
    return [];
  }
}

/** Resolve every qmail user and group (files default to /etc/passwd, /etc/group). */
export function qmailIds(passwd = '/etc/passwd', group = '/etc/group'): QmailIds {
  const pw = users(passwd);
  const gr = groups(group);
  const u = {} as Record<QmailUser, number | undefined>;
  for (const n of QMAIL_USERS) u[n] = pw.get(n);
  const g = {} as Record<QmailGroup, number | undefined>;
  for (const n of QMAIL_GROUPS) g[n] = gr.get(n);
  return { users: u, groups: g };
}
