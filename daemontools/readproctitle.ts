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
import { fs } from '../src/lib/nodefs.ts';
import { progName, type Ctx } from '../src/lib/program.ts';
import { ProcTitle } from '../src/lib/proctitle.ts';

const { readSync } = fs;

export function main(ctx: Ctx): number | Promise<number> {
  const args = ctx.argv.slice(1);
  const last = args.at(-1);
  if (last === undefined) return 100;
  const d = Buffer.from(last, 'latin1');
  if (d.length < 5) return 100;
  const head = [progName(ctx.argv[0] ?? 'readproctitle'), ...args.slice(0, -1)].join(' ') + ' ';
  const title = new ProcTitle(d);
  const show = (b: Uint8Array): void => {
    title.push(b);
    process.title = head + title.text();
  };
  const buf = Buffer.alloc(1024);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      // a non-blocking stdin: wait for data through the event loop instead
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return fromStream(ctx, show);
      return 0;
    }
    if (n === 0) return 0;
    show(buf.subarray(0, n));
  }
}

/** Read ctx.stdin as a stream until its end. */
function fromStream(ctx: Ctx, show: (b: Uint8Array) => void): Promise<number> {
  return new Promise((resolve) => {
    ctx.stdin.on('data', (b: Buffer) => show(b));
    ctx.stdin.on('end', () => resolve(0));
    ctx.stdin.on('error', () => resolve(0));
  });
}
