/**
 * mkbins: writes bin/NAME for every program module (daemontools/*.ts,
 * ucspi/*.ts, src/qmail/*.ts). Run with `npm run bins` after adding a
 * program; test/launchers.test.ts fails when a launcher is missing or stale.
 *
 * A launcher is a POSIX sh script that finds the checkout through its own real
 * path (so `ln -s CHECKOUT/bin/svc /usr/local/bin/svc` works), then execs the
 * pinned Node binary (node_modules/node/bin/node) on dist/src/lib/launch.js,
 * passing the module, the name it was invoked as ($0), and its arguments. The
 * exec keeps the pid: supervise's child stays the service's process.
 * A program in BUNDLED runs its one-file bundle instead (dist/bundle/NAME.cjs,
 * written by src/mkbundle.ts in `npm run build`), passing $0 and its arguments.
 * A program in FRONT_ENDS gets a symbolic link to its native front end
 * instead of a script.
 */
import { readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Directories (relative to the checkout) whose *.ts files are programs. */
export const PROGRAM_DIRS = ['daemontools', 'ucspi', 'src/qmail'];

/** Node flags every launcher passes: quiet about process.execve being experimental. */
export const NODE_FLAGS = '--disable-warning=ExperimentalWarning';

/**
 * Flags for resident processes that sit idle most of the time (supervise,
 * svscan, readproctitle): a small V8 heap (1 MB semi-spaces, old space capped
 * at 16 MB), no JIT (--jitless: no code space, no compiler threads; these
 * processes run a few hundred lines per event), no V8 worker threads
 * (--single-threaded, --v8-pool-size=0). Measured with
 * bench/svscan-memory.ts. Never for throughput programs (multilog, tcpserver,
 * qmail-send): --jitless makes hot loops several times slower.
 */
export const IDLE_FLAGS = '--max-semi-space-size=1 --max-old-space-size=16 --jitless --single-threaded --v8-pool-size=0';

/**
 * Extra Node flags per program (others get NODE_FLAGS only). Tried and left
 * out for tcprules: --no-opt (Maglev as the top tier), which helped while
 * its compile ran in many small functions; with the one-loop fast path
 * (src/lib/rules.ts fastLines) TurboFan's OSR pays: 100 000 rules 46.7 vs
 * 48.6 ms, 1 000 000 rules 222 vs 268 ms (bench/tcprules.ts). Tried and left
 * out for the one-shot tools: Node's module compile cache
 * (NODE_COMPILE_CACHE), no measurable gain for a few small modules
 * (svstat 37.5 vs 37.3 ms median of 80, bench/startup.ts conditions), and
 * the variable would leak into exec'd programs' environments.
 */
export const PROGRAM_FLAGS: Record<string, string> = {
  supervise: IDLE_FLAGS,
  svscan: IDLE_FLAGS,
  readproctitle: IDLE_FLAGS,
};

/**
 * Programs whose launcher runs a one-file CommonJS bundle of an entry module
 * (path without `.ts`, bundled to dist/bundle/NAME.cjs by src/mkbundle.ts)
 * instead of launch.js: short one-shot tools whose start-up is most of their
 * run. tcprules: ~12 ms less start-up than launch.js (a 3-line rules file:
 * 21.7 vs 34.2 ms median, bench/tcprules.ts).
 */
export const BUNDLED: Record<string, string> = {
  tcprules: 'src/lib/launch-tcprules',
};

/** All Node flags for program name. */
export function nodeFlags(name: string): string {
  const extra = PROGRAM_FLAGS[name];
  return extra === undefined ? NODE_FLAGS : `${NODE_FLAGS} ${extra}`;
}

/** [name, module] for every program, module relative to dist/ without `.js`. */
export function programs(root: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const d of PROGRAM_DIRS) {
    if (!existsSync(`${root}/${d}`)) continue;
    for (const f of readdirSync(`${root}/${d}`).sort()) {
      if (f.endsWith('.ts') && !f.endsWith('.d.ts')) out.push([f.slice(0, -3), `${d}/${f.slice(0, -3)}`]);
    }
  }
  return out;
}

/**
 * Programs whose bin/NAME is not a sh launcher but a symbolic link to a
 * native executable of the same name built by `npm run build:native`
 * (src/native/build/Release/NAME, from src/native/inject-client.c): it
 * hands the work to qmail-queued when that can take it (about 1 ms where a
 * Node start costs 20-45; src/lib/inject/served.ts), and otherwise execs
 * the same Node command line as launcher() writes, finding the checkout
 * through /proc/self/exe.
 */
export const FRONT_ENDS = new Set(['qmail-inject', 'sendmail']);

/** Where bin/NAME of a FRONT_ENDS program points (relative to bin/). */
export function frontEndTarget(name: string): string {
  return `../src/native/build/Release/${name}`;
}

/**
 * The text of bin/NAME for a module. The checkout is found without a fork
 * when $0 is a plain path ending in /bin/NAME; a symlink or any other form
 * goes through readlink -f (from /usr/bin or /bin, whatever PATH is).
 */
export function launcher(name: string, mod: string): string {
  const script = BUNDLED[name] === undefined ? 'dist/src/lib/launch.js' : `dist/bundle/${name}.cjs`;
  const run = BUNDLED[name] === undefined ? `"$r/${script}" ${mod}` : `"$r/${script}"`;
  return `#!/bin/sh
# ${name}: launcher generated by src/mkbins.ts (npm run bins); do not edit.
case $0 in */bin/*) r=\${0%/bin/*} ;; *) r=/nonexistent ;; esac
if [ -L "$0" ] || [ ! -f "$r/${script}" ]; then
  r=$(PATH=/usr/bin:/bin readlink -f -- "$0") || exit 111
  r=\${r%/bin/*}
fi
exec "$r/node_modules/node/bin/node" ${nodeFlags(name)} ${run} "$0" "$@"
`;
}

/** Write every launcher under root/bin; returns the names written. */
export function writeBins(root: string): string[] {
  const names: string[] = [];
  for (const [name, mod] of programs(root)) {
    const path = `${root}/bin/${name}`;
    if (FRONT_ENDS.has(name)) {
      const target = frontEndTarget(name);
      let now: string | undefined;
      try {
        now = readlinkSync(path);
      } catch {
        /* absent, or a file */
      }
      if (now !== target) {
        rmSync(path, { force: true });
        symlinkSync(target, path);
      }
      names.push(name);
      continue;
    }
    const text = launcher(name, mod);
    if (!existsSync(path) || readFileSync(path, 'utf8') !== text) writeFileSync(path, text);
    chmodSync(path, 0o755);
    names.push(name);
  }
  return names;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  console.log(writeBins(root).join(' '));
}
