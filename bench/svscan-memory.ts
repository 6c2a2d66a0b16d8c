/**
 * bench/svscan-memory: idle memory of svscan supervising 8 services (4 of
 * them with a log service running `multilog t ./main`), ours vs Debian's
 * daemontools, measured from /proc/PID/smaps_rollup (RSS and PSS).
 *
 *   node bench/svscan-memory.ts
 *
 * Debian's tree: /usr/bin/svscan with PATH=/usr/bin:/bin (Debian's
 * supervise). Our tree: bin/svscan with bin/ first on PATH (our supervise).
 * The services are sleep and `multilog t ./main`: Debian's multilog in
 * Debian's tree, ours (bin/multilog, or Debian's while there is none) in
 * ours; the output says which. The trees run one
 * after the other; each is measured 3 s after every supervise is up.
 * Printed: svscan + supervise processes (what this project replaces) and the
 * whole tree, for both, and the ratio ours/Debian.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OURBIN = `${ROOT}/bin`;
const ourMultilog = existsSync(`${OURBIN}/multilog`) ? `${OURBIN}/multilog` : '/usr/bin/multilog';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function service(dir: string, run: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/run`, `#!/bin/sh\n${run}\n`);
  chmodSync(`${dir}/run`, 0o755);
}

function tree(root: string, multilog: string): string[] {
  const dirs: string[] = [];
  for (let i = 1; i <= 8; i++) {
    service(`${root}/s${i}`, 'exec sleep 100000');
    dirs.push(`${root}/s${i}`);
    if (i <= 4) {
      service(`${root}/s${i}/log`, `exec ${multilog} t ./main`);
      dirs.push(`${root}/s${i}/log`);
    }
  }
  return dirs;
}

function ppidOf(pid: number): number {
  const st = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
}

function descendants(top: number): number[] {
  const kids = new Map<number, number[]>();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const pp = ppidOf(Number(p));
      kids.set(pp, [...(kids.get(pp) ?? []), Number(p)]);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    out.push(p);
    for (const k of kids.get(p) ?? []) walk(k);
  };
  walk(top);
  return out;
}

function mem(pid: number): { rss: number; pss: number } {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? 0);
  return { rss: kb('Rss'), pss: kb('Pss') };
}

function isSupervision(pid: number): boolean {
  const c = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  return /(^|\/)(svscan|supervise)\0|daemontools\/(svscan|supervise)\0/.test(c);
}

interface Figures {
  sup: { n: number; rss: number; pss: number };
  all: { n: number; rss: number; pss: number };
}

async function measure(svscan: string, path: string, multilog: string): Promise<Figures> {
  const root = mkdtempSync(`${tmpdir()}/bench-svscan-`);
  const dirs = tree(root, multilog);
  const scan = spawn(svscan, [root], { env: { ...process.env, PATH: path }, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    for (let i = 0; i < 100; i++) {
      if (dirs.every((d) => spawnSync('/usr/bin/svok', [d]).status === 0)) break;
      await sleep(100);
    }
    await sleep(3000);
    const f: Figures = { sup: { n: 0, rss: 0, pss: 0 }, all: { n: 0, rss: 0, pss: 0 } };
    for (const p of descendants(scan.pid!)) {
      const m = mem(p);
      for (const k of isSupervision(p) ? [f.sup, f.all] : [f.all]) {
        k.n++;
        k.rss += m.rss;
        k.pss += m.pss;
      }
    }
    return f;
  } finally {
    scan.kill('SIGKILL');
    spawnSync('/usr/bin/svc', ['-dx', ...dirs]);
    for (let i = 0; i < 50 && dirs.some((d) => spawnSync('/usr/bin/svok', [d]).status === 0); i++) await sleep(100);
    rmSync(root, { recursive: true, force: true });
  }
}

const mb = (kb: number): string => (kb / 1024).toFixed(1);
const deb = await measure('/usr/bin/svscan', '/usr/bin:/bin', '/usr/bin/multilog');
const ours = await measure(`${OURBIN}/svscan`, `${OURBIN}:/usr/bin:/bin`, ourMultilog);
console.log(`svscan + 8 services (4 with multilog t ./main; multilog: ours ${ourMultilog}, Debian /usr/bin/multilog)`);
for (const [label, k] of [['svscan+supervise', 'sup'], ['whole tree', 'all']] as const) {
  const o = ours[k];
  const d = deb[k];
  console.log(
    `${label.padEnd(17)} ours ${o.n} procs RSS ${mb(o.rss)} MB PSS ${mb(o.pss)} MB | Debian ${d.n} procs RSS ${mb(d.rss)} MB PSS ${mb(d.pss)} MB | ratio RSS ${(o.rss / d.rss).toFixed(0)}x PSS ${(o.pss / d.pss).toFixed(0)}x`,
  );
}
console.log(`our supervise/svscan average PSS: ${mb(ours.sup.pss / ours.sup.n)} MB per process (target <= 12 MB)`);
