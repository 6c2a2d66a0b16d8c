/**
 * launch: the process entry point used by every bin/NAME launcher:
 *
 *     node dist/src/lib/launch.js MODULE ARGV0 [args...]
 *
 * MODULE is the program's path under dist/ without `.js` (`daemontools/svc`),
 * ARGV0 the name the launcher was invoked as. It imports the module, runs its
 * main(ctx) with the real process's argv/env/cwd/stdio, and exits with the
 * returned status (an Exit thrown by strerr.die() gives its status; any other
 * exception prints `NAME: fatal: internal error: ...` and exits 111).
 * A write to a closed pipe (EPIPE; Node ignores SIGPIPE, which silently kills
 * the C originals, e.g. `svstat ... | head -1`) ends the program quietly with
 * status 111 instead.
 */
import { pathToFileURL } from 'node:url';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Main } from './program.ts';
import { Exit, errline } from './strerr.ts';
import { progName } from './program.ts';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** True for the error a write to a closed pipe gives. */
function isEpipe(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
}

async function run(): Promise<void> {
  const [mod, argv0, ...args] = process.argv.slice(2);
  const name = progName(argv0 ?? mod);
  let status: number;
  try {
    const m = (await import(pathToFileURL(`${dist}/${mod}.js`).href)) as { main: Main };
    // stdio streams are created only when a program touches them: creating
    // process.stdin puts a pipe on fd 0 into non-blocking mode, which an
    // exec-chaining tool must not pass on to the program it execs.
    status = await m.main({
      argv: [argv0, ...args],
      env: process.env,
      cwd: process.cwd(),
      get stdin() {
        return process.stdin;
      },
      get stdout() {
        if (process.stdout.listenerCount('error') === 0) {
          process.stdout.on('error', (e) => {
            if (!isEpipe(e)) errline(`${name}: fatal: unable to write output: ${e.message}`);
            process.exit(111);
          });
        }
        return process.stdout;
      },
      get stderr() {
        return process.stderr;
      },
    });
  } catch (e) {
    if (e instanceof Exit) status = e.status;
    else if (isEpipe(e)) status = 111;
    else {
      errline(`${name}: fatal: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      status = 111;
    }
  }
  process.exit(status);
}

void run();
