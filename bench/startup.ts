/**
 * bench/startup: median start-up (whole run) time of the one-shot tools svok
 * and svstat, ours (bin/) vs Debian's (/usr/bin), on a service directory
 * whose supervise/ok has a reader (held by this script) and a status file.
 *
 *   node bench/startup.ts [runs]      (default 50 runs per program)
 *
 * Prints one line per program: ours, Debian's, and the ratio, after the
 * start-up time of a bare `node -e 0` for reference (run this script with
 * the pinned node, node_modules/node/bin/node, so that line means it). Uses
 * spawnSync, so fork/exec cost is included for both sides alike.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 50);

const dir = mkdtempSync(`${tmpdir()}/bench-startup-`);
mkdirSync(`${dir}/s/supervise`, { recursive: true });
spawnSync('mkfifo', ['-m', '600', `${dir}/s/supervise/ok`]);
const held = openSync(`${dir}/s/supervise/ok`, constants.O_RDONLY | constants.O_NONBLOCK);
const st = Buffer.alloc(18);
st.writeBigUInt64BE(0x400000000000000an + BigInt(Math.floor(Date.now() / 1000) - 60));
st.writeUInt32LE(4242, 12);
st[17] = 0x75;
writeFileSync(`${dir}/s/supervise/status`, st);

function median(cmd: string, args: string[]): number {
  const t: number[] = [];
  spawnSync(cmd, args); // warm caches
  for (let i = 0; i < runs; i++) {
    const a = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { cwd: dir });
    t.push(Number(process.hrtime.bigint() - a) / 1e6);
    if (r.error) throw r.error;
  }
  t.sort((x, y) => x - y);
  return t[Math.floor(t.length / 2)];
}

try {
  console.log(`node -e 0 (the floor for any Node program): ${median(process.execPath, ['-e', '0']).toFixed(2)} ms`);
  for (const prog of ['svok', 'svstat']) {
    const ours = median(`${ROOT}/bin/${prog}`, ['s']);
    const deb = existsSync(`/usr/bin/${prog}`) ? median(`/usr/bin/${prog}`, ['s']) : NaN;
    console.log(
      `${prog.padEnd(7)} median of ${runs}: ours ${ours.toFixed(2)} ms, Debian ${deb.toFixed(2)} ms, ratio ${(ours / deb).toFixed(1)}x`,
    );
  }
} finally {
  closeSync(held);
  rmSync(dir, { recursive: true, force: true });
}
