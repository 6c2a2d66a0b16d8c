/**
 * qmailctl setup [fqdn [admin]]
 * qmailctl check
 *
 * The parts of the top-level `qmailctl` script (LWQ 2.8.2.1) that go beyond
 * svc/svstat/tcprules: the script execs this module for them.
 *
 * setup: the system install, as `make setup check`, `./config-fast fqdn` and
 * LWQ section 2.8 leave it: qmail's users and groups (deploy/accounts.ts),
 * the qmail home with its queue, control files from fqdn (default: this
 * host's name), aliases (.qmail-root and .qmail-postmaster say admin; without
 * one they are empty and deliver to ~alias/Maildir/), rc, the supervise run
 * directories (with qmail-queued, this product's queue-injection service,
 * running as qmailq) linked into the service directory, tcp.smtp with
 * `127.:allow,RELAYCLIENT=""` and its cdb (deploy/tree.ts). Idempotent: what
 * exists is kept. Paths: QMAILHOME, QMAIL_SERVICE, QMAIL_LOG, QMAIL_TCPSMTP
 * (deploy/layout.ts); the listening address and ports are LWQ's (`0 smtp`,
 * `0 110`) unless QMAIL_LISTEN, QMAIL_SMTP_PORT, QMAIL_POP3_PORT say
 * otherwise; QMAILCTL_NOACCOUNTS (any value) skips creating qmail's accounts.
 * Must run as root. Prints each path it creates.
 *
 * check: LWQ's inst_check (deploy/check.ts): prints each problem with the
 * command to fix it, or the congratulation. qmail's accounts are required
 * for the home /var/qmail only (an embedded or test tree has none).
 *
 * Exit codes: 0 done (check: no problems); 1 check found problems;
 * 100 usage or setup not as root; 111 setup failed (`qmailctl: fatal: ...`).
 */
import { hostname } from 'node:os';
import type { Ctx } from './lib/program.ts';
import { die, usage } from './lib/strerr.ts';
import { qmailIds } from './lib/qmailids.ts';
import { DEFAULT_QMAILHOME } from './lib/qmailhome.ts';
import { systemLayout } from './lib/deploy/layout.ts';
import { ensureAccounts } from './lib/deploy/accounts.ts';
import { buildTree } from './lib/deploy/tree.ts';
import { checkInstall, formatProblems } from './lib/deploy/check.ts';
import { supervised } from './lib/deploy/supervised.ts';
import { ROOT } from './lib/root.ts';

const PROG = 'qmailctl';

export async function main(ctx: Ctx): Promise<number> {
  const l = systemLayout(ctx.env);
  const cmd = ctx.argv[1];
  if (cmd === 'check') {
    const ps = checkInstall(l, l.home === DEFAULT_QMAILHOME);
    ctx.stdout.write(formatProblems(ps));
    return ps.length === 0 ? 0 : 1;
  }
  if (cmd !== 'setup') usage(PROG, 'setup [fqdn [admin]] | check');
  if (process.getuid?.() !== 0) die(PROG, 100, 'setup must run as root');
  const fqdn = ctx.argv[2] ?? hostname();
  const env = (k: string, d: string): string => ctx.env[k] || d;
  const admin = ctx.argv[3] ?? '';
  try {
    const w = (s: string): boolean => ctx.stdout.write(`${s}\n`);
    if (ctx.env.QMAILCTL_NOACCOUNTS === undefined) for (const c of await ensureAccounts(l.home)) w(c);
    const ids = qmailIds();
    const pair = (u: number | undefined, g: number | undefined): [number, number] | undefined => (u !== undefined && g !== undefined ? [u, g] : undefined);
    const made = await buildTree({
      layout: l,
      fqdn,
      admin,
      smtpdAccount: ids.users.qmaild !== undefined ? 'qmaild' : 'root',
      switchUser: true,
      queueAccount: ids.users.qmailq !== undefined ? 'qmailq' : undefined,
      logAccount: ids.users.qmaill !== undefined ? 'qmaill' : undefined,
      smtp: { host: env('QMAIL_LISTEN', '0'), port: env('QMAIL_SMTP_PORT', 'smtp') },
      pop3: { host: env('QMAIL_LISTEN', '0'), port: env('QMAIL_POP3_PORT', '110') },
      owners: {
        alias: pair(ids.users.alias, ids.groups.qmail),
        log: pair(ids.users.qmaill, ids.groups.nofiles),
        control: pair(0, ids.groups.qmail),
        queue: pair(ids.users.qmailq, ids.groups.qmail),
      },
    });
    for (const p of made) w(`created ${p}`);
    if (made.length > 0 && !supervised(`${l.service}/qmail-send`))
      w(`If svscan does not run on ${l.service} yet, start it (LWQ 2.7 has daemontools do it at boot), e.g.: ${ROOT}/bin/svscanboot ${l.service} &`);
  } catch (e) {
    die(PROG, 111, 'setup failed', e);
  }
  const ps = checkInstall(l, ctx.env.QMAILCTL_NOACCOUNTS === undefined);
  ctx.stdout.write(formatProblems(ps));
  return 0;
}
