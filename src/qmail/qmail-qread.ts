/**
 * qmail-qread: list outgoing messages and recipients (qmail-qread(8)).
 *
 * For each message in QMAILHOME/queue/info (split subdirectories in order,
 * readdir order inside) prints, on stdout:
 *
 *     D Mon YYYY HH:MM:SS GMT  #ID  SIZE  <SENDER> [ bouncing]
 *     \tlocal\tADDR            (a recipient still to do)
 *       done\tremote\tADDR     (a recipient done)
 *
 * DATE is info/ID's mtime (when the message was preprocessed), SIZE mess/ID's
 * size in bytes; ` bouncing` follows the sender's `> ` when bounce/ID exists.
 * Bytes outside 32..126 in the stats line and addresses print as `_`.
 * Problems with one message print `warning: trouble with #ID: reason` and the
 * walk goes on; `fatal: unable to chdir: reason` /
 * `fatal: unable to opendir info/S: reason` end it with exit 111. All of this
 * goes to stdout, as the original writes it. Exit 0 otherwise.
 * Must run as root or as qmails with group qmail.
 */
import { accessSync, constants } from 'node:fs';
import type { Ctx } from '../lib/program.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { errstr } from '../lib/errstr.ts';
import { date822fmt } from '../lib/qmaildate.ts';
import { Exit, writeAll } from '../lib/strerr.ts';
import { queueDir, queueSplit } from '../lib/queue/layout.ts';
import { readQueue, type QueuedMessage } from '../lib/queue/stat.ts';

/** Replace bytes outside 32..126 with `_` (qmail-qread's out()). */
export function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '_');
}

/** qmail-qread's lines for one message. */
export function formatMessage(m: QueuedMessage): string {
  let s = printable(`${date822fmt(m.time).slice(0, -6)} GMT  #${m.id}  ${m.size}  <${m.sender}> ${m.bouncing ? ' bouncing' : ''}`) + '\n';
  for (const r of m.recipients) {
    if ('error' in r) s += `warning: trouble with #${m.id}: ${errstr(r.error)}\n`;
    else s += `${r.done ? '  done' : ''}\t${r.channel}\t${printable(r.addr)}\n`;
  }
  return s;
}

export function main(ctx: Ctx): number {
  const q = queueDir(qmailHome(ctx.env));
  let out = '';
  const die = (text: string, e: unknown): never => {
    writeAll(1, Buffer.from(out + `fatal: ${text}: ${errstr(e)}\n`, 'latin1'));
    throw new Exit(111);
  };
  try {
    accessSync(q, constants.X_OK);
  } catch (e) {
    die('unable to chdir', e);
  }
  readQueue(
    q,
    queueSplit(q),
    (m) => {
      out += formatMessage(m);
      if (out.length > 65536) {
        writeAll(1, Buffer.from(out, 'latin1'));
        out = '';
      }
    },
    (id, e) => {
      out += `warning: trouble with #${id}: ${errstr(e)}\n`;
    },
    (path, e) => die(`unable to opendir ${path}`, e),
  );
  writeAll(1, Buffer.from(out, 'latin1'));
  return 0;
}
