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

/** name -> [id, primary gid] from a passwd(5)/group(5)-style file (fields 0, 2, 3). */
function table(path: string): Map<string, [number, number]> {
  const m = new Map<string, [number, number]>();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return m;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || f[0] === '' || m.has(f[0])) continue;
    const id = Number(f[2]);
    if (Number.isInteger(id) && id >= 0) m.set(f[0], [id, Number(f[3] ?? NaN)]);
  }
  return m;
}

/** A passwd entry's uid and primary gid by name (getpwnam), or undefined. */
export function getpwnam(name: string, passwd = '/etc/passwd'): { uid: number; gid: number } | undefined {
  const e = table(passwd).get(name);
  return e ? { uid: e[0], gid: e[1] } : undefined;
}

/** A group's gid by name (getgrnam), or undefined. */
export function getgrnam(name: string, group = '/etc/group'): number | undefined {
  return table(group).get(name)?.[0];
}

/** Resolve every qmail user and group (files default to /etc/passwd, /etc/group). */
export function qmailIds(passwd = '/etc/passwd', group = '/etc/group'): QmailIds {
  const pw = table(passwd);
  const gr = table(group);
  const users = {} as Record<QmailUser, number | undefined>;
  for (const u of QMAIL_USERS) users[u] = pw.get(u)?.[0];
  const groups = {} as Record<QmailGroup, number | undefined>;
  for (const g of QMAIL_GROUPS) groups[g] = gr.get(g)?.[0];
  return { users, groups };
}
