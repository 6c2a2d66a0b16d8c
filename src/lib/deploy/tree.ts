/**
 * deploy/tree: build (or complete) one qmail installation as Life with qmail
 * section 2.8 and 5.2.1.2 lay it out, for both the system install (qmailctl
 * setup) and the embedded default (npm start):
 *
 *   HOME/queue              queue/create.ts (qmail's modes; owners when root)
 *   HOME/control            config-fast from the host name: me, defaultdomain,
 *                           plusdomain, locals, rcpthosts; then the checkout's
 *                           control/ defaults (concurrencyincoming 20,
 *                           defaultdelivery ./Maildir/)
 *   HOME/alias              .qmail-root, .qmail-postmaster (the admin's
 *                           address; empty = alias's own ./Maildir/, as
 *                           INSTALL.alias), .qmail-mailer-daemon and
 *                           .qmail-abuse linked to .qmail-postmaster
 *   HOME/users              (assignments are the caller's business)
 *   HOME/rc                 services/rc
 *   HOME/bin                links to this checkout's qmail programs, and a
 *                           qmailctl that sets this layout's variables
 *   HOME/supervise/S[/log]  services/S/run, services/S/log/run (S = qmail-send,
 *                           qmail-smtpd (+ run.rblsmtpd), qmail-pop3d,
 *                           qmail-queued: this product's queue-injection
 *                           service in place of the setuid qmail-queue)
 *   HOME/qmail-queued       qmail-queued's socket directory (the queue's
 *                           owner, 0755)
 *   LOG, LOG/smtpd, LOG/pop3d, LOG/queued   multilog directories
 *   TCPSMTP, TCPSMTP.cdb    `127.:allow,RELAYCLIENT=""`, compiled by tcprules
 *   SERVICE/S -> HOME/supervise/S   (last: a running svscan starts them)
 *
 * Everything is created only when missing (an administrator's edits are
 * never overwritten; a missing piece is added on the next run), except that
 * links for programs added to the checkout later appear in HOME/bin.
 * Returns the paths it created, in order. Throws fs errors (`.code`) and
 * Error for a failed tcprules.
 */
import { chownSync, readdirSync, readlinkSync, lstatSync, statSync } from 'node:fs';
import { execa } from 'execa';
import { queueCreate } from '../queue/create.ts';
import { binPath, ROOT } from '../root.ts';
import type { Layout } from './layout.ts';
import { createDir, createFile, createLink, fill, template } from './template.ts';
import { programs } from '../../mkbins.ts';

/** The supervised services: LWQ's three in LWQ's order, then this product's qmail-queued. */
export const SERVICES = ['qmail-send', 'qmail-smtpd', 'qmail-pop3d', 'qmail-queued'] as const;

/** The data segment limit given to softlimit -d in the tcpserver run scripts (bytes). */
export const SOFTLIMIT_DATA = '1000000000';

/** How to build the tree. */
export interface TreeOptions {
  layout: Layout;
  /** the fully qualified host name (config-fast's argument) */
  fqdn: string;
  /** what .qmail-root and .qmail-postmaster say ('' = empty files) */
  admin: string;
  /** account whose uid/gid the smtpd run script reads with id (LWQ: qmaild) */
  smtpdAccount: string;
  /** pass -u/-g to tcpserver (false when not root: setgroups would fail) */
  switchUser: boolean;
  /** account qmail-queued runs as through setuidgid (qmailq), or undefined (the caller's) */
  queueAccount?: string;
  /** account multilog runs as through setuidgid (LWQ: qmaill), or undefined */
  logAccount?: string;
  smtp: { host: string; port: string };
  pop3: { host: string; port: string };
  /** owners (uid, gid) to chown to, when running as root */
  owners?: { alias?: [number, number]; log?: [number, number]; control?: [number, number]; queue?: [number, number] };
}

/** config-fast's control files for fqdn (notqmail config-fast.sh's sed). */
export function configFast(fqdn: string): Record<string, string> {
  const ddom = fqdn.replace(/^([^.]*)\.([^.]*)\./, '$2.');
  const pdom = fqdn.replace(/^.*\.([^.]*)\.([^.]*)$/, '$1.$2');
  return { me: fqdn, defaultdomain: ddom, plusdomain: pdom, locals: fqdn, rcpthosts: fqdn };
}

/** The bin/ programs that are qmail's (modules under src/qmail/, as src/mkbins.ts lists them). */
export function qmailPrograms(): string[] {
  return programs(ROOT)
    .filter(([, mod]) => mod.startsWith('src/qmail/'))
    .map(([name]) => name)
    .sort();
}

/** The text of HOME/bin/qmailctl for a layout. */
export function qmailctlWrapper(l: Layout): string {
  return (
    `#!/bin/sh\n# qmailctl for the installation under ${l.home} (written by setup; edit freely)\n` +
    `QMAILHOME=${l.home}\nQMAIL_SERVICE=${l.service}\nQMAIL_LOG=${l.log}\nQMAIL_TCPSMTP=${l.tcpsmtp}\n` +
    `export QMAILHOME QMAIL_SERVICE QMAIL_LOG QMAIL_TCPSMTP\nexec ${ROOT}/qmailctl "$@"\n`
  );
}

/** Build or complete the installation; returns the paths created. */
export async function buildTree(o: TreeOptions): Promise<string[]> {
  const l = o.layout;
  const made: string[] = [];
  const root = process.getuid?.() === 0;
  const own = (p: string, ids: [number, number] | undefined): void => {
    if (root && ids) chownSync(p, ids[0], ids[1]);
  };
  const dir = (p: string, mode: number, ids?: [number, number]): void => {
    if (createDir(p, mode)) {
      made.push(p);
      own(p, ids);
    }
  };
  const file = (p: string, text: string, mode: number, ids?: [number, number]): void => {
    if (createFile(p, text, mode)) {
      made.push(p);
      own(p, ids);
    }
  };
  const vars: Record<string, string> = {
    QMAILHOME: l.home,
    BIN: `${ROOT}/bin`,
    LOGDIR: l.log,
    TCPSMTP: l.tcpsmtp,
    QMAILD: o.smtpdAccount,
    UGFLAGS: o.switchUser ? '-u "$QMAILDUID" -g "$NOFILESGID" ' : '',
    QUEUEUSER: o.queueAccount ? `${ROOT}/bin/setuidgid ${o.queueAccount} ` : '',
    SETUIDGID: o.logAccount ? `${ROOT}/bin/setuidgid ${o.logAccount} ` : '',
    SMTPHOST: o.smtp.host,
    SMTPPORT: o.smtp.port,
    POP3HOST: o.pop3.host,
    POP3PORT: o.pop3.port,
    SOFTLIMIT: SOFTLIMIT_DATA,
    ADMIN: o.admin === '' ? '' : `${o.admin}\n`,
  };

  dir(l.home, 0o755);
  queueCreate(l.home);
  dir(`${l.home}/qmail-queued`, 0o755, o.owners?.queue);

  dir(`${l.home}/control`, 0o755, o.owners?.control);
  const cf = configFast(o.fqdn);
  for (const [n, v] of Object.entries(cf)) file(`${l.home}/control/${n}`, `${v}\n`, 0o644, o.owners?.control);
  for (const n of readdirSync(`${ROOT}/control`).sort()) file(`${l.home}/control/${n}`, fill(template(`control/${n}`), vars), 0o644, o.owners?.control);

  dir(`${l.home}/alias`, 0o2755, o.owners?.alias);
  for (const n of readdirSync(`${ROOT}/alias`).sort()) {
    const src = `${ROOT}/alias/${n}`;
    const dst = `${l.home}/alias/${n}`;
    if (lstatSync(src).isSymbolicLink()) {
      if (createLink(dst, readlinkSync(src))) made.push(dst);
    } else file(dst, fill(template(`alias/${n}`), vars), 0o644, o.owners?.alias);
  }
  if (o.admin === '') {
    dir(`${l.home}/alias/Maildir`, 0o700, o.owners?.alias);
    for (const s of ['cur', 'new', 'tmp']) dir(`${l.home}/alias/Maildir/${s}`, 0o700, o.owners?.alias);
  }
  dir(`${l.home}/users`, 0o755);

  file(`${l.home}/rc`, fill(template('services/rc'), vars), 0o755);
  dir(`${l.home}/bin`, 0o755);
  for (const n of qmailPrograms()) if (createLink(`${l.home}/bin/${n}`, binPath(n))) made.push(`${l.home}/bin/${n}`);
  file(`${l.home}/bin/qmailctl`, qmailctlWrapper(l), 0o755);

  for (const s of SERVICES) {
    const sv = `${l.home}/supervise/${s}`;
    dir(`${sv}/log`, 0o755);
    file(`${sv}/run`, fill(template(`services/${s}/run`), vars), 0o755);
    file(`${sv}/log/run`, fill(template(`services/${s}/log/run`), vars), 0o755);
  }
  file(`${l.home}/supervise/qmail-smtpd/run.rblsmtpd`, fill(template('services/qmail-smtpd/run.rblsmtpd'), vars), 0o755);

  dir(l.log, 0o755, o.owners?.log);
  dir(`${l.log}/smtpd`, 0o755, o.owners?.log);
  dir(`${l.log}/pop3d`, 0o755, o.owners?.log);
  dir(`${l.log}/queued`, 0o755, o.owners?.log);

  dir(l.tcpsmtp.slice(0, l.tcpsmtp.lastIndexOf('/')) || '/', 0o755);
  file(l.tcpsmtp, '127.:allow,RELAYCLIENT=""\n', 0o644);
  if (!fresh(`${l.tcpsmtp}.cdb`, l.tcpsmtp)) {
    const r = await execa(binPath('tcprules'), [`${l.tcpsmtp}.cdb`, `${l.tcpsmtp}.tmp`], { inputFile: l.tcpsmtp, reject: false });
    if (r.exitCode !== 0) throw new Error(`tcprules failed: ${r.stderr}`);
    made.push(`${l.tcpsmtp}.cdb`);
  }

  dir(l.service, 0o755);
  for (const s of SERVICES) if (createLink(`${l.service}/${s}`, `${l.home}/supervise/${s}`)) made.push(`${l.service}/${s}`);
  return made;
}

/** True when target exists and is not older than source. */
function fresh(target: string, source: string): boolean {
  try {
    return statSync(target).mtimeMs >= statSync(source).mtimeMs;
  } catch {
    return false;
  }
}
