/**
 * readproctitle L... D: keep the most recent bytes of stdin visible to ps(1)
 * at the end of the command line (readproctitle(8), daemontools 0.76;
 * ../shared/FORMATS.md section 12). D is the last argument, at least 5 bytes
 * (normally dots). Each byte read (NULs skipped) shifts D left by one, keeping
 * its first three bytes, and is put at D's end. Exit 0 at end of input; exit
 * 100 silently without arguments or with a D shorter than 5 bytes.
 *
 * Node cannot write into its own argv strings; process.title (libuv) rewrites
 * the process's argument area instead, so ps shows `ARGV0 L... D` with the
 * arguments separated by spaces rather than NULs.
 */
import { readSync } from 'node:fs';
import { progName, type Ctx } from '../src/lib/program.ts';
import { ProcTitle } from '../src/lib/proctitle.ts';

export function main(ctx: Ctx): number {
  const args = ctx.argv.slice(1);
  const last = args.at(-1);
  if (last === undefined) return 100;
  const d = Buffer.from(last, 'latin1');
  if (d.length < 5) return 100;
  const head = [progName(ctx.argv[0] ?? 'readproctitle'), ...args.slice(0, -1)].join(' ') + ' ';
  const title = new ProcTitle(d);
  const buf = Buffer.alloc(1024);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
        waitReadable();
        continue;
      }
      return 0;
    }
    if (n === 0) return 0;
    title.push(buf.subarray(0, n));
    process.title = head + title.text();
  }
}

/** Block until fd 0 is readable (a non-blocking stdin): a 10 ms nap, rare path. */
function waitReadable(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
}
