/**
 * launch-tcprules: the process entry of bin/tcprules, bundled by `npm run
 * build` (src/mkbundle.ts) with everything it imports into one CommonJS file,
 * dist/bundle/tcprules.cjs, which the launcher runs:
 *
 *     node dist/bundle/tcprules.cjs ARGV0 [args...]
 *
 * One file and no ES module loader: Node reads, compiles and runs a single
 * script, which saves several ms of tcprules' start-up against the general
 * dist/src/lib/launch.js (module resolution, the ESM loader's own internal
 * modules, a dynamic import). Same contract as launch.ts: main's status, or
 * an Exit's, is the exit status; any other exception prints
 * `tcprules: fatal: internal error: ...` and exits 111. tcprules is
 * synchronous and never touches the stdio streams.
 */
import { main } from '../../ucspi/tcprules.ts';
import { errline, Exit } from './strerr.ts';

let status: number;
try {
  status = main({
    argv: process.argv.slice(2),
    env: process.env,
    cwd: process.cwd(),
    get stdin() {
      return process.stdin;
    },
    get stdout() {
      return process.stdout;
    },
    get stderr() {
      return process.stderr;
    },
  });
} catch (e) {
  if (e instanceof Exit) status = e.status;
  else {
    errline(`tcprules: fatal: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    status = 111;
  }
}
process.exit(status);
