/**
 * qmail-qstat: summarize status of mail queue (qmail-qstat(8)). Prints
 *
 *     messages in queue: N
 *     messages in queue but not yet preprocessed: M
 *
 * N counts the regular files under QMAILHOME/queue/mess/* (every split
 * subdirectory), M those under QMAILHOME/queue/todo, as the original shell
 * script's `find ... -type f | wc -l`. A directory that cannot be read is
 * reported on stderr (`qmail-qstat: warning: unable to read DIR: reason`)
 * and counts what could be read; exit 0 like the script. Must run as root or
 * with group qmail (the queue is 0750 qmailq:qmail).
 */
import type { Ctx } from '../lib/program.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { queueDir } from '../lib/queue/layout.ts';
import { countQueue } from '../lib/queue/stat.ts';
import { warn, writeAll } from '../lib/strerr.ts';

export function main(ctx: Ctx): number {
  const q = queueDir(qmailHome(ctx.env));
  const c = countQueue(q, (path, e) => warn('qmail-qstat', `unable to read ${path}`, e));
  writeAll(1, `messages in queue: ${c.mess}\nmessages in queue but not yet preprocessed: ${c.todo}\n`);
  return 0;
}
