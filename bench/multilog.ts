/**
 * bench/multilog: lines per second through `multilog t ./dir` and
 * `multilog ./dir` (default s99999 n10, so ~1000 rotations with fsync), ours
 * (bin/multilog) vs Debian's (/usr/bin/multilog), same run, stdin a regular
 * file of N lines of ~80 bytes (../shared/ANCHORS.md: C 2.02 M lines/s with
 * `t`, 2.47 M without). Also an idle multilog's PSS (smaps_rollup).
 *
 *   node bench/multilog.ts [N] [runs]     (default N = 1e6, 5 runs; median)
 *   BENCH_DIR=/dev/shm node bench/multilog.ts   (logs on tmpfs: no disk in the figures)
 *
 * Prints, per script: ours, Debian's, ratio (ours/Debian's, higher is better).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, smaps } from './lib.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.argv[2] ?? 1e6);
const RUNS = Number(process.argv[3] ?? 5);
const OURS = `${ROOT}/bin/multilog`;
const THEIRS = '/usr/bin/multilog';
const work = mkdtempSync(`${process.env.BENCH_DIR ?? tmpdir()}/mlbench-`);

const input = `${work}/input`;
{
  const parts: string[] = [];
  for (let i = 0; i < N; i++) parts.push(`qmail: 1763000000.${String(i).padStart(6, '0')} delivery ${i}: success: did_0+0+1/`.padEnd(79, 'x') + '\n');
  writeFileSync(input, parts.join(''));
}

function runOnce(prog: string, args: string[]): number {
  const d = `${work}/log`;
  rmSync(d, { recursive: true, force: true });
  const fd = openSync(input, 'r');
  const t = performance.now();
  const r = spawnSync(prog, [...args, d], { stdio: [fd, 'ignore', 'inherit'] });
  const ms = performance.now() - t;
  closeSync(fd);
  if (r.status !== 0) throw new Error(`${prog} exited ${r.status}`);
  return ms;
}


for (const args of [['t'], []]) {
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    theirs.push(runOnce(THEIRS, args));
    ours.push(runOnce(OURS, args));
  }
  const o = N / (median(ours) / 1000);
  const c = N / (median(theirs) / 1000);
  const name = `multilog ${[...args, './dir'].join(' ')}`;
  console.log(
    `${name.padEnd(22)} ours ${(o / 1e6).toFixed(2)} M lines/s  Debian ${(c / 1e6).toFixed(2)} M lines/s  ratio ${(o / c).toFixed(2)}`,
  );
}

/** [PSS, USS] in kB of a process (smaps_rollup); USS = private pages, which no sharing lowers. */
function pss(pid: number): [number, number] {
  const m = smaps(pid);
  return [m.pss, m.uss];
}

async function idle(prog: string): Promise<[number, number]> {
  const d = `${work}/idle`;
  rmSync(d, { recursive: true, force: true });
  const child = spawn(prog, ['t', d], { stdio: ['pipe', 'ignore', 'inherit'] });
  child.stdin.write('hello\n');
  await new Promise((r) => setTimeout(r, 1500));
  // the launcher execs node: same pid
  const kb = pss(child.pid!);
  child.stdin.end();
  await new Promise((r) => child.on('exit', r));
  return kb;
}

const po = await idle(OURS);
const pc = await idle(THEIRS);
const mb = (kb: number): string => (kb / 1024).toFixed(1);
console.log(`idle multilog PSS/USS  ours ${mb(po[0])}/${mb(po[1])} MB  Debian ${mb(pc[0])}/${mb(pc[1])} MB`);
rmSync(work, { recursive: true, force: true });
