/**
 * qmail-tcpto
 *
 * Print qmail-remote's record of hosts that timed out (qmail-tcpto(8)),
 * QMAILHOME/queue/lock/tcpto (format: src/lib/remote/tcpto.ts), one line per
 * record with a non-zero count, in file order:
 *
 *   1.2.3.4 timed out 3600 seconds ago; # recent timeouts: 2
 *
 * No arguments. Errors go to fd 1 as the original writes them, without the
 * program name (qmail-tcpto.c warn()), and exit 111:
 *   fatal: unable to chdir: REASON
 *   fatal: unable to open tcpto: REASON
 *   fatal: unable to lock tcpto: REASON
 *   fatal: unable to read tcpto: REASON
 * Exit 0 otherwise.
 */
import { accessSync, constants } from 'node:fs';
import type { Ctx } from '../lib/program.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { errstr } from '../lib/errstr.ts';
import { decodeRecords, tcptoPath, tcptoRead } from '../lib/remote/tcpto.ts';
import { writeAll } from '../lib/strerr.ts';

/** The program (see the module comment): exit status as described there. */
export function main(ctx: Ctx): number {
  const home = qmailHome(ctx.env);
  const fatal = (what: string, e: unknown): number => {
    writeAll(1, `fatal: unable to ${what}: ${errstr(e)}\n`);
    return 111;
  };
  try {
    accessSync(home, constants.X_OK);
    accessSync(`${home}/queue/lock`, constants.X_OK);
  } catch (e) {
    return fatal('chdir', e);
  }
  let buf: Buffer;
  try {
    buf = tcptoRead(tcptoPath(home));
  } catch (e) {
    const stage = (e as { stage?: string }).stage ?? 'read';
    return fatal(`${stage} tcpto`, e);
  }
  const start = Math.floor(Date.now() / 1000);
  let text = '';
  for (const r of decodeRecords(buf)) {
    // unsigned long arithmetic, as the original: a time in the future wraps
    if (r.count >= 1) text += `${r.ip} timed out ${BigInt.asUintN(64, BigInt(start - r.when))} seconds ago; # recent timeouts: ${r.count}\n`;
  }
  writeAll(1, text);
  return 0;
}
