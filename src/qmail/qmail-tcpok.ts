/**
 * qmail-tcpok
 *
 * Clear qmail-remote's record of hosts that timed out (qmail-tcpok(8)):
 * writes 1024 NUL bytes over QMAILHOME/queue/lock/tcpto under an exclusive
 * lock (format: src/lib/remote/tcpto.ts). No arguments.
 *
 * Errors (stderr, exit 111), as the original:
 *   qmail-tcpok: fatal: unable to chdir to HOME: REASON
 *   qmail-tcpok: fatal: unable to chdir to HOME/queue/lock: REASON
 *   qmail-tcpok: fatal: unable to write HOME/queue/lock/tcpto: REASON
 *   qmail-tcpok: fatal: unable to lock HOME/queue/lock/tcpto: REASON
 *   qmail-tcpok: fatal: unable to clear HOME/queue/lock/tcpto: REASON
 * Exit 0 on success.
 */
import { accessSync, constants } from 'node:fs';
import type { Ctx } from '../lib/program.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { tcptoClear, tcptoPath } from '../lib/remote/tcpto.ts';
import { die } from '../lib/strerr.ts';

const PROG = 'qmail-tcpok';

/** The program (see the module comment): exit status as described there. */
export function main(ctx: Ctx): number {
  const home = qmailHome(ctx.env);
  try {
    accessSync(home, constants.X_OK);
  } catch (e) {
    die(PROG, 111, `unable to chdir to ${home}`, e);
  }
  try {
    accessSync(`${home}/queue/lock`, constants.X_OK);
  } catch (e) {
    die(PROG, 111, `unable to chdir to ${home}/queue/lock`, e);
  }
  const path = tcptoPath(home);
  try {
    tcptoClear(path);
  } catch (e) {
    const stage = (e as { stage?: string }).stage;
    die(PROG, 111, `unable to ${stage === 'lock' ? 'lock' : stage === 'write' ? 'clear' : 'write'} ${path}`, e);
  }
  return 0;
}
