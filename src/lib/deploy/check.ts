/**
 * deploy/check: what LWQ's inst_check verifies about an installation
 * (section 2.9): the qmail users and groups, the qmail home and its queue
 * (owners, modes, the lock/trigger FIFO), qmail-queued's socket directory
 * (this product's), control files, aliases, the
 * supervise run scripts, the links in the service directory, the log
 * directories and the tcpserver rules. Each problem comes with the command
 * that fixes it, printed as inst_check prints them:
 *
 *     ! /var/log/qmail has wrong owner, should be qmaill
 *     ...try: chown qmaill /var/log/qmail
 *
 * Owners are checked only for a system install (`system`), and only for
 * qmail accounts that exist on this machine; an embedded or test tree
 * belongs to whoever made it. A system install also needs the alias user's
 * home (from passwd, as qmail-getpw reads it) to be its HOME/alias.
 */
import { lstatSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { qmailIds, QMAIL_GROUPS, QMAIL_USERS, type QmailUser } from '../qmailids.ts';
import { getpwnam } from '../passwd.ts';
import { DEFAULT_SPLIT } from '../queue/layout.ts';
import type { Layout } from './layout.ts';
import { SERVICES } from './tree.ts';

/** One problem and the fix to try. */
export interface Problem {
  what: string;
  fix: string;
}

/** The text inst_check prints for a list of problems (the congratulation when there are none). */
export function formatProblems(ps: Problem[]): string {
  if (ps.length === 0) return 'Congratulations, your LWQ installation looks good!\n';
  return ps.map((p) => `! ${p.what}\n...try: ${p.fix}\n`).join('');
}

/** Check an installation; `system` also requires qmail's accounts to exist and checks owners. */
export function checkInstall(l: Layout, system: boolean): Problem[] {
  const ps: Problem[] = [];
  const ids = qmailIds();
  const names = new Map<number, string>();
  for (const u of QMAIL_USERS) if (ids.users[u] !== undefined && !names.has(ids.users[u])) names.set(ids.users[u], u);
  if (system) {
    for (const g of QMAIL_GROUPS) if (ids.groups[g] === undefined) ps.push({ what: `group ${g} does not exist`, fix: `groupadd ${g}` });
    for (const u of QMAIL_USERS)
      if (ids.users[u] === undefined) {
        const g = ['qmailq', 'qmailr', 'qmails'].includes(u) ? 'qmail' : 'nofiles';
        const h = u === 'alias' ? `${l.home}/alias` : l.home;
        ps.push({ what: `user ${u} does not exist`, fix: `useradd -g ${g} -d ${h} -s /bin/true ${u}` });
      }
    // qmail-getpw takes the alias user's home from passwd: root's, postmaster's and unknown users' mail goes there
    const alias = ids.users.alias !== undefined ? getpwnam('alias') : undefined;
    if (alias && resolve(alias.home) !== resolve(`${l.home}/alias`))
      ps.push({ what: `user alias has home directory ${alias.home}, so mail for root and postmaster goes there, not to ${l.home}/alias`, fix: `usermod -d ${l.home}/alias alias` });
  }
  const st = (p: string): Stats | undefined => {
    try {
      return lstatSync(p);
    } catch {
      return undefined;
    }
  };
  const exists = (p: string, kind: 'dir' | 'file' | 'fifo', mk: string): Stats | undefined => {
    const s = st(p);
    if (!s) {
      ps.push({ what: `${p} does not exist`, fix: mk });
      return undefined;
    }
    const ok = kind === 'dir' ? s.isDirectory() : kind === 'fifo' ? s.isFIFO() : s.isFile();
    if (!ok) {
      ps.push({ what: `${p} is not a ${kind === 'dir' ? 'directory' : kind === 'fifo' ? 'FIFO' : 'regular file'}`, fix: `rm -rf ${p} && ${mk}` });
      return undefined;
    }
    return s;
  };
  const owner = (p: string, s: Stats, u: QmailUser): void => {
    if (!system) return; // an embedded or test tree belongs to whoever made it
    const want = ids.users[u];
    if (want !== undefined && s.uid !== want) ps.push({ what: `${p} has wrong owner, should be ${u}`, fix: `chown ${u} ${p}` });
  };
  const mode = (p: string, s: Stats, m: number): void => {
    if ((s.mode & 0o7777) !== m) ps.push({ what: `${p} has wrong mode, should be ${m.toString(8)}`, fix: `chmod ${m.toString(8)} ${p}` });
  };
  const exe = (p: string): void => {
    const s = exists(p, 'file', `create ${p} (qmailctl setup)`);
    if (s && (s.mode & 0o111) !== 0o111) ps.push({ what: `${p} is not executable`, fix: `chmod 755 ${p}` });
  };

  if (!exists(l.home, 'dir', 'qmailctl setup')) return ps;
  const q = `${l.home}/queue`;
  const queueDirs: [string, QmailUser, number][] = [
    ['', 'qmailq', 0o750], ['pid', 'qmailq', 0o700], ['intd', 'qmailq', 0o700], ['todo', 'qmailq', 0o750],
    ['bounce', 'qmails', 0o700], ['mess', 'qmailq', 0o750], ['info', 'qmails', 0o700], ['local', 'qmails', 0o700],
    ['remote', 'qmails', 0o700], ['lock', 'qmailq', 0o750],
  ];
  for (const [d, u, m] of queueDirs) {
    const p = d === '' ? q : `${q}/${d}`;
    const s = exists(p, 'dir', `qmailctl setup`);
    if (s) {
      owner(p, s, u);
      mode(p, s, m);
    }
  }
  for (const d of ['mess', 'info', 'local', 'remote']) for (let i = 0; i < DEFAULT_SPLIT; i++) if (!st(`${q}/${d}/${i}`)) {
    ps.push({ what: `${q}/${d}/${i} does not exist`, fix: 'qmailctl setup' });
    break;
  }
  const trig = exists(`${q}/lock/trigger`, 'fifo', 'qmailctl setup');
  if (trig) {
    owner(`${q}/lock/trigger`, trig, 'qmails');
    mode(`${q}/lock/trigger`, trig, 0o622);
  }
  const qd = exists(`${l.home}/qmail-queued`, 'dir', 'qmailctl setup');
  if (qd) {
    owner(`${l.home}/qmail-queued`, qd, 'qmailq');
    mode(`${l.home}/qmail-queued`, qd, 0o755);
  }
  for (const [f, u, m] of [['tcpto', 'qmailr', 0o644], ['sendmutex', 'qmails', 0o600]] as const) {
    const s = exists(`${q}/lock/${f}`, 'file', 'qmailctl setup');
    if (s) {
      owner(`${q}/lock/${f}`, s, u);
      mode(`${q}/lock/${f}`, s, m);
    }
  }

  for (const f of ['me', 'locals', 'defaultdelivery', 'concurrencyincoming']) exists(`${l.home}/control/${f}`, 'file', `qmailctl setup`);
  if (!st(`${l.home}/control/rcpthosts`))
    ps.push({ what: `${l.home}/control/rcpthosts does not exist: qmail-smtpd refuses to start (open relay)`, fix: `head -1 ${l.home}/control/me > ${l.home}/control/rcpthosts` });
  const a = exists(`${l.home}/alias`, 'dir', 'qmailctl setup');
  if (a) owner(`${l.home}/alias`, a, 'alias');
  for (const f of ['.qmail-root', '.qmail-postmaster', '.qmail-mailer-daemon', '.qmail-abuse']) {
    const p = `${l.home}/alias/${f}`;
    try {
      statSync(p);
    } catch {
      ps.push({ what: `${p} does not exist`, fix: f === '.qmail-root' || f === '.qmail-postmaster' ? `echo YOU > ${p}` : `ln -s .qmail-postmaster ${p}` });
    }
  }
  exe(`${l.home}/rc`);

  for (const s of SERVICES) {
    const sv = `${l.home}/supervise/${s}`;
    exe(`${sv}/run`);
    exe(`${sv}/log/run`);
    const link = `${l.service}/${s}`;
    const ls = st(link);
    if (!ls) ps.push({ what: `${link} does not exist`, fix: `ln -s ${sv} ${l.service}` });
    else if (ls.isSymbolicLink() && resolve(l.service, readlinkSync(link)) !== sv) ps.push({ what: `${link} does not point to ${sv}`, fix: `rm ${link} && ln -s ${sv} ${l.service}` });
    for (const d of [sv, `${sv}/log`]) {
      const c = st(`${d}/supervise/control`);
      if (c && !c.isFIFO()) ps.push({ what: `${d}/supervise/control is not a FIFO`, fix: `svc -dx ${d} && rm -rf ${d}/supervise` });
    }
  }
  for (const d of [l.log, `${l.log}/smtpd`, `${l.log}/pop3d`, `${l.log}/queued`]) {
    const s = exists(d, 'dir', `mkdir -p ${d}`);
    if (s) owner(d, s, 'qmaill');
  }
  if (exists(l.tcpsmtp, 'file', `echo '127.:allow,RELAYCLIENT=""' >> ${l.tcpsmtp}`)) {
    const c = st(`${l.tcpsmtp}.cdb`);
    if (!c || c.mtimeMs < statSync(l.tcpsmtp).mtimeMs) ps.push({ what: `${l.tcpsmtp}.cdb is missing or older than ${l.tcpsmtp}`, fix: 'qmailctl cdb' });
  }
  return ps;
}
