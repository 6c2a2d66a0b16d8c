/**
 * bench/tai64n: lines per second of tai64n and tai64nlocal, ours against
 * Debian's, on 1e6 lines of 80 bytes (tai64nlocal on tai64n's output),
 * stdin from a file, stdout to /dev/null. Median of 5 runs each; the times
 * include process start (Node ~40 ms). Prints ours, Debian's and the ratio.
 *
 *   node_modules/node/bin/node bench/tai64n.ts [lines]
 */
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LINES = Number(process.argv[2] ?? 1e6);
const RUNS = 5;

/** Run cmd <input >output through sh; seconds taken. */
async function once(cmd: string, input: string, output: string, env: Record<string, string> = {}): Promise<number> {
  const t0 = process.hrtime.bigint();
  await execa('/bin/sh', ['-c', 'exec "$0" <"$1" >"$2"', cmd, input, output], { env, stdio: 'ignore' });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Median seconds of RUNS runs. */
async function time(cmd: string, input: string, env: Record<string, string> = {}): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await once(cmd, input, '/dev/null', env));
  return runs.sort((a, b) => a - b)[RUNS >> 1];
}

const dir = mkdtempSync(`${tmpdir()}/bench-tai64n-`);
try {
  const plain = `${dir}/plain`;
  writeFileSync(plain, Buffer.from(('x'.repeat(79) + '\n').repeat(LINES)));
  const stamped = `${dir}/stamped`;
  await once(existsSync('/usr/bin/tai64n') ? '/usr/bin/tai64n' : `${ROOT}/bin/tai64n`, plain, stamped);
  const rows: Array<[string, string, string, Record<string, string>]> = [
    ['tai64n', `${ROOT}/bin/tai64n`, '/usr/bin/tai64n', {}],
    ['tai64nlocal TZ=Europe/Berlin', `${ROOT}/bin/tai64nlocal`, '/usr/bin/tai64nlocal', { TZ: 'Europe/Berlin' }],
  ];
  console.log(`${LINES} lines of 80 bytes, median of ${RUNS} runs (lines/s; process start included)`);
  for (const [name, ours, theirs, env] of rows) {
    if (!existsSync(theirs)) {
      console.log(`${name}: Debian's ${theirs} not installed, skipped`);
      continue;
    }
    const input = name === 'tai64n' ? plain : stamped;
    const a = await time(ours, input, env);
    const b = await time(theirs, input, env);
    const fmt = (s: number) => `${(LINES / s / 1e6).toFixed(2)} M lines/s (${s.toFixed(3)} s)`;
    console.log(`${name.padEnd(28)} ours ${fmt(a)}   Debian ${fmt(b)}   ours/Debian ${(b / a).toFixed(2)}x speed`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
