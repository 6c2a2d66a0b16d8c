/**
 * qmail-clean
 *
 * Removes finished queue files for qmail-send (qmail-clean(8)): reads
 * NUL-terminated requests `foop/N` / `todo/N` on fd 0 and answers each with
 * one byte on fd 1 (`+` done, `!` an unlink failed, `x` a bad request);
 * see src/lib/send/clean.ts. Requests are worked on as they come
 * (cleanRequest: both unlinks, intd/N first, in one pool job, since
 * on a `discard` mount the one that frees the file waits for the device,
 * several hundred microseconds under load) and answered in the
 * order they came, the answers ready together in one write. At start and
 * then every 31st step of its loop (qmail-clean.c's counter) it also sweeps
 * pid/ files older than 36 hours.
 *
 * Environment: QMAILHOME. Exit: 111 when QMAILHOME/queue cannot be found,
 * 100 when fd 1 cannot be written, 0 at fd 0's EOF.
 */
import { statSync } from 'node:fs';
import type { Ctx } from '../lib/program.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { queueDir, queueSplit } from '../lib/queue/layout.ts';
import { cleanRequest, pidSweeper } from '../lib/send/clean.ts';

/** qmail-clean: see the module comment; resolves 0 at EOF, 100 on a write error, 111 without a queue. */
export async function main(ctx: Ctx): Promise<number> {
  const queue = queueDir(qmailHome(ctx.env));
  try {
    if (!statSync(queue).isDirectory()) return 111;
  } catch {
    return 111;
  }
  const split = queueSplit(queue);
  let cur: Buffer[] = [];
  let failed = false;
  const out = ctx.stdout;
  out.on('error', () => (failed = true));
  return new Promise<number>((resolve) => {
    const step = pidSweeper(queue);
    step();
    // answers in request order: each joins the chain once it and all before it are done
    let chain: Promise<void> = Promise.resolve();
    let ready = '';
    const flush = (): void => {
      if (ready !== '') out.write(ready);
      ready = '';
    };
    ctx.stdin.on('data', (chunk: Buffer) => {
      let s = 0;
      for (let z = chunk.indexOf(0, s); z >= 0; z = chunk.indexOf(0, s)) {
        cur.push(chunk.subarray(s, z));
        const req = Buffer.concat(cur).toString('latin1');
        cur = [];
        s = z + 1;
        const answer = cleanRequest(queue, req, split);
        chain = chain
          .then(() => answer)
          .then((a) => {
            if (ready === '') setImmediate(flush);
            ready += a;
          });
        step();
      }
      if (s < chunk.length) cur.push(Buffer.from(chunk.subarray(s)));
    });
    const done = (): void => {
      void chain.then(() => {
        flush();
        if (failed) resolve(100);
        else out.write(Buffer.alloc(0), () => resolve(failed ? 100 : 0));
      });
    };
    ctx.stdin.on('end', done);
    ctx.stdin.on('error', done);
  });
}
