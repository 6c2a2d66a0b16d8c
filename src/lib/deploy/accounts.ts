/**
 * deploy/accounts: qmail's users and groups for the system install (LWQ
 * 2.5.4, INSTALL.ids): groups qmail and nofiles; alias (home HOME/alias),
 * qmaild, qmaill, qmailp in nofiles; qmailq, qmailr, qmails in qmail; all
 * with the shell /bin/true and no login. Created with the system's groupadd
 * and useradd (system ids, -r), only those missing; /usr/sbin and /sbin are
 * added to the end of PATH for them (qmailctl's PATH is LWQ's, which has
 * neither, and Debian keeps both commands in /usr/sbin).
 * Returns the commands it ran; throws Error naming a command that failed.
 */
import { execa } from 'execa';
import { qmailIds, QMAIL_GROUPS, QMAIL_USERS } from '../qmailids.ts';

/** Create the missing qmail groups and users (home: the qmail home); returns the commands run. */
export async function ensureAccounts(home: string): Promise<string[]> {
  const ran: string[] = [];
  const run = async (cmd: string, args: string[]): Promise<void> => {
    const r = await execa(cmd, args, { reject: false, env: { PATH: `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin` } });
    ran.push([cmd, ...args].join(' '));
    if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || `exit ${r.exitCode}`}`);
  };
  let ids = qmailIds();
  for (const g of QMAIL_GROUPS) if (ids.groups[g] === undefined) await run('groupadd', ['-r', g]);
  ids = qmailIds();
  for (const u of QMAIL_USERS) {
    if (u === 'root' || ids.users[u] !== undefined) continue;
    const g = u === 'qmailq' || u === 'qmailr' || u === 'qmails' ? 'qmail' : 'nofiles';
    await run('useradd', ['-r', '-M', '-g', g, '-d', u === 'alias' ? `${home}/alias` : home, '-s', '/bin/true', u]);
  }
  return ran;
}
